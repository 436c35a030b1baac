/**
 * The room log's invariants, checked over what every client received and what the table
 * holds. Pure functions: the model-based test (tests/e2e/room-log-model.test.ts) collects the
 * observations from real clients on the local stack; unit tests feed them hand-made ones.
 *
 *   1. per room, every recipient's events (after dedup by `id`) are in strictly increasing
 *      `seq`, and any two recipients (and the stored log) agree on the event at each seq;
 *   2. each member got exactly the events between its `joined` and its `left`: nothing
 *      missing, nothing from outside its window (a connection that closed got a prefix);
 *   3. each `entered.members` equals the roster at that seq, and the page that follows
 *      `entered` is the log just before it (or, resuming, every event after `since`);
 *   4. no two current members of a room share a nickname (by its uniqueness key);
 *   5. once every connection is gone, no entry, roster entry, nickname or connection item
 *      remains (history aside);
 *   and, for clients open to the end, every action was answered once: it is in the log
 *   exactly once, or it got an `error` (and then it is not in the log).
 */
import { nicknameKey } from '../../../functions/shared/domain/rules';
import { enteredPageId } from '../../../functions/shared/use-cases/deliver-room-event';

export type Event = Record<string, unknown> & { type?: string; id?: string; seq?: number; roomId?: string };

/** The room's log as stored: seq → the event as delivered. */
export type Log = Map<number, Event>;

export interface ClientRecord {
  name: string;
  /** Every event received, in arrival order. */
  events: Event[];
  /** Still connected when the run ended (a closed client may have missed its window's tail). */
  openAtEnd: boolean;
  /** The actions sent, by kind and room (for the answered-once check). */
  sent: { action: string; roomId?: string }[];
  /** The `fromId` this connection's messages carry (token mode: derived from the connection). */
  fromId?: string;
}

const ROOM_TYPES = new Set(['joined', 'message', 'left']);

function comparable(event: Event): string {
  const { type, id, at, seq, roomId, nickname, from, fromId, message, reason } = event;
  return JSON.stringify({ type, id, at, seq, roomId, nickname, from, fromId, message, reason });
}

/** The client's view of a room's log: entered/exited stand for their joined/left. */
function asLogEvent(event: Event): Event | undefined {
  if (event.type === 'entered') {
    return {
      type: 'joined',
      id: event.id,
      at: event.at,
      seq: event.seq,
      roomId: event.roomId,
      nickname: event.nickname,
    };
  }
  if (event.type === 'exited') return undefined; // its `left` (same id, seq) is what the room saw
  return ROOM_TYPES.has(event.type ?? '') ? event : undefined;
}

/** Nicknames on the roster after each seq, replaying the log (1 … max). */
export function rosterTimeline(log: Log): { at: Map<number, string[]>; problems: string[] } {
  const roster = new Map<string, string>(); // key → nickname
  const at = new Map<number, string[]>();
  const problems: string[] = [];
  const seqs = [...log.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    const event = log.get(seq) as Event;
    const nickname = String(event.nickname ?? '');
    if (event.type === 'joined') {
      if (roster.has(nicknameKey(nickname)))
        problems.push(`seq ${seq}: ${nickname} joined while a member already holds that nickname`);
      roster.set(nicknameKey(nickname), nickname);
    } else if (event.type === 'left') {
      if (!roster.delete(nicknameKey(nickname)))
        problems.push(`seq ${seq}: ${nickname} left but was not on the roster`);
    }
    at.set(seq, [...roster.values()].sort());
  }
  return { at, problems };
}

/** Checks invariants 1–4 (and answered-once) for one room; returns every problem found. */
export function checkRoom(roomId: string, log: Log, clients: ClientRecord[]): string[] {
  const problems: string[] = [];
  const seqs = [...log.keys()].sort((a, b) => a - b);
  // The log itself: 1, 2, 3 … no gaps.
  seqs.forEach((seq, index) => {
    if (seq !== index + 1) problems.push(`log: seq ${seq} at position ${index + 1} (gap or repeat)`);
  });
  const timeline = rosterTimeline(log);
  problems.push(...timeline.problems);
  const logIds = new Map([...log.values()].map((e) => [e.id, e.seq]));

  for (const client of clients) {
    const mine = client.events.filter((e) => e.roomId === roomId);
    const seen = new Map<unknown, string>();
    let lastSeq = 0;
    const received = new Map<number, Event>();
    // 1. strictly increasing seq after dedup, each equal to the log's event at that seq; every
    //    repeat of an id the same event as its first copy.
    for (const event of mine) {
      if (!ROOM_TYPES.has(event.type ?? '') && event.type !== 'entered' && event.type !== 'exited') continue;
      const first = seen.get(event.id);
      if (first !== undefined) {
        if (first !== JSON.stringify(event))
          problems.push(
            `${client.name}: a repeat of ${event.id} differs: ${JSON.stringify(event)} vs ${first}`,
          );
        continue;
      }
      seen.set(event.id, JSON.stringify(event));
      const seq = Number(event.seq);
      if (!(seq > lastSeq))
        problems.push(`${client.name}: ${event.type} ${event.id} at seq ${seq} after seq ${lastSeq}`);
      lastSeq = Math.max(lastSeq, seq);
      received.set(seq, event);
      const logged = log.get(seq);
      const asLogged = asLogEvent(event);
      if (!logged)
        problems.push(`${client.name}: got ${event.type} at seq ${seq}, which the log does not have`);
      else if (asLogged && comparable(asLogged) !== comparable(logged)) {
        problems.push(
          `${client.name}: seq ${seq} differs from the log: ${comparable(asLogged)} vs ${comparable(logged)}`,
        );
      } else if (event.type === 'exited' && (logged.type !== 'left' || logged.id !== event.id)) {
        problems.push(`${client.name}: exited at seq ${seq} is not the left of the log there`);
      }
    }
    // 2. windows: from each entered (its joined) to its exited (its left), or to the end.
    const windows: { from: number; to: number; closedEarly: boolean }[] = [];
    let open: Event | undefined;
    for (const [seq, event] of [...received].sort((a, b) => a[0] - b[0])) {
      if (event.type === 'entered') open = event;
      if (event.type === 'exited' && open !== undefined) {
        windows.push({ from: Number(open.seq), to: seq, closedEarly: false });
        open = undefined;
      }
    }
    if (open !== undefined) {
      // Still a member at the end, or its connection closed: then the log has its left.
      const from = Number(open.seq);
      const nickname = open.nickname;
      const left = client.openAtEnd
        ? undefined
        : seqs.find((s) => s > from && log.get(s)?.type === 'left' && log.get(s)?.nickname === nickname);
      windows.push({ from, to: left ?? (seqs.at(-1) ?? from) + 1, closedEarly: !client.openAtEnd });
    }
    for (const [seq, event] of received) {
      if (event.type === 'entered' || event.type === 'exited') continue;
      if (!windows.some((w) => seq > w.from && seq < w.to)) {
        problems.push(
          `${client.name}: got ${event.type} at seq ${seq}, outside its windows ${JSON.stringify(windows)}`,
        );
      }
    }
    for (const w of windows) {
      const expected = seqs.filter((s) => s > w.from && s < w.to);
      const got = expected.filter((s) => received.has(s));
      if (w.closedEarly) {
        // A prefix: nothing missing before the last one it got.
        const last = got.at(-1);
        const missing = last === undefined ? [] : expected.filter((s) => s < last && !received.has(s));
        if (missing.length > 0)
          problems.push(`${client.name}: missed seq ${missing.join(',')} in window ${w.from}..${w.to}`);
      } else if (got.length !== expected.length) {
        const missing = expected.filter((s) => !received.has(s));
        problems.push(`${client.name}: missed seq ${missing.join(',')} in window ${w.from}..${w.to}`);
      }
    }
    // 3. entered: the roster at its seq; the page after it: the log just before it.
    for (const event of mine.filter((e) => e.type === 'entered')) {
      const seq = Number(event.seq);
      const roster = timeline.at.get(seq) ?? [];
      const members = [...((event.members as string[]) ?? [])].sort();
      if (Number(event.memberCount) !== roster.length) {
        problems.push(
          `${client.name}: entered at ${seq} counts ${event.memberCount}, roster has ${roster.length}`,
        );
      }
      if (roster.length <= 500 && JSON.stringify(members) !== JSON.stringify(roster)) {
        problems.push(`${client.name}: entered at ${seq} lists ${members}, roster is ${roster}`);
      }
      const index = mine.indexOf(event);
      // The pages that follow it: history events with ids derived from its own, before the
      // room's next event reaches the client. The answer to one of its own `history` requests
      // (another id) may arrive between them: it is not one of these pages.
      const pageEvents: Event[] = [];
      let pages = 0;
      for (let i = index + 1; i < mine.length; i++) {
        const next = mine[i] as Event;
        if (next.type === 'history' && next.id === enteredPageId(String(event.id), pages)) {
          pageEvents.push(...((next.events as Event[]) ?? []));
          pages += 1;
        } else if (next.type !== 'history') {
          break;
        }
      }
      if (pages === 0) {
        // A connection that closed right after its entered got a prefix: nothing more.
        const closedThere = !client.openAtEnd && index === mine.length - 1;
        if (!closedThere)
          problems.push(`${client.name}: entered at ${seq} is not followed by a history page`);
        continue;
      }
      const got = pageEvents.map((e) => Number(e.seq));
      const contiguous = got.every((s, i) => i === 0 || s === (got[i - 1] as number) + 1);
      if (!contiguous || (got.length > 0 && got.at(-1) !== seq - 1)) {
        problems.push(
          `${client.name}: the page after entered at ${seq} is ${got}, not a run ending at ${seq - 1}`,
        );
      }
      if (event.resumed === undefined) {
        const expected = seqs.filter((s) => s < seq).slice(-50);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          problems.push(`${client.name}: the page after entered at ${seq} is ${got}, expected ${expected}`);
        }
      }
    }
    // Every history page holds the log's events as delivered.
    for (const page of mine.filter((e) => e.type === 'history')) {
      for (const event of (page.events as Event[]) ?? []) {
        const logged = log.get(Number(event.seq));
        if (!logged || comparable(logged) !== comparable(event)) {
          problems.push(`${client.name}: history has seq ${event.seq} unlike the log`);
        }
      }
    }
    // Answered once (clients open to the end): sent = in the log + errors.
    if (client.openAtEnd) {
      // (The model acts in one room per client: errors carry no room id.)
      const count = (action: string) => client.sent.filter((s) => s.action === action).length;
      // A redelivered record posts its entered / exited, or the notice of a dropped message,
      // again with the same id: each id answers once.
      const errors = (action: string) =>
        new Set(client.events.filter((e) => e.type === 'error' && e.action === action).map((e) => e.id)).size;
      const distinct = (type: string) => new Set(mine.filter((e) => e.type === type).map((e) => e.id)).size;
      const entered = distinct('entered');
      const exited = distinct('exited');
      const ownMessages = [...log.values()].filter(
        (e) => e.type === 'message' && e.fromId === client.fromId,
      ).length;
      const checks: [string, number, number][] = [
        ['enterroom', count('enterroom'), entered + errors('enterroom')],
        ['exitroom', count('exitroom'), exited + errors('exitroom')],
        ['sendmessage', count('sendmessage'), ownMessages + errors('sendmessage')],
      ];
      for (const [action, sent, answered] of checks) {
        if (sent !== answered)
          problems.push(`${client.name}: sent ${sent} ${action}, ${answered} answered (log + errors)`);
      }
    }
  }
  // Every id in the log once.
  if (logIds.size !== log.size) problems.push('log: an event id appears at two seqs');
  return problems;
}
