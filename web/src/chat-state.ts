/**
 * Everything the page knows, and how it changes. `reduce` is pure (no DOM, no timers, no
 * socket): it takes the state, one input and the current time/random sample, and returns the
 * next state plus the effects for the shell (main.ts) to carry out. Unit tests drive it directly.
 */
import { type BackoffPolicy, DEFAULT_BACKOFF, reconnectDelay } from './backoff.js';
import {
  type ClientFrame,
  checkMessage,
  checkNickname,
  checkRoomId,
  type LeaveReason,
  type RoomLogEvent,
  type ServerEvent,
} from './protocol.js';

/** entering: asked, not confirmed · joined · rejoining: was in it, connection dropped · leaving · out: not in it any more */
export type RoomStatus = 'entering' | 'joined' | 'rejoining' | 'leaving' | 'out';

export interface Line {
  /** The event id for server events, a local key otherwise; also the DOM key. */
  key: string;
  kind: 'message' | 'system' | 'error';
  at: string;
  text: string;
  from?: string;
  own?: boolean;
  /** The room event's place in the room's log: lines are kept in this order. */
  seq?: number;
}

export interface Room {
  id: string;
  /** The nickname this connection uses (or asked to use) in the room. */
  nickname: string;
  status: RoomStatus;
  members: readonly string[];
  lines: readonly Line[];
  unread: number;
  /** Re-enter attempts since the last success (nickname still held by the dropped connection). */
  rejoinAttempts: number;
  /** The highest seq of the room's log this page has shown (resume asks for what came after). */
  lastSeq: number;
  /**
   * Messages waiting to be sent: the next goes out once the room's copy of the previous one
   * arrives (or an error answers it), so the room keeps them in the order they were typed
   * (frames of one connection may be handled in any order).
   */
  outbox: readonly string[];
  /** The message sent and not yet seen in the room. */
  sending: string | null;
}

export type Connection =
  | { status: 'idle' }
  | { status: 'connecting'; attempt: number }
  | { status: 'open' }
  | { status: 'waiting'; attempt: number; retryAt: number; reason: string }
  | { status: 'rejected'; reason: string }
  | { status: 'closed'; reason: string };

export interface Banner {
  key: string;
  from: string;
  message: string;
  at: string;
}

export interface Notice {
  key: string;
  level: 'error' | 'info';
  text: string;
}

export interface ChatState {
  connection: Connection;
  /** Whether this session's socket has opened at least once (a later drop is then retried). */
  everOpened: boolean;
  /** Prefill for the enter-room form; the nickname given when connecting. */
  nickname: string;
  rooms: readonly Room[];
  activeRoomId: string | null;
  banners: readonly Banner[];
  notices: readonly Notice[];
  /** Recent event ids, newest last: delivery is at-least-once, each id is shown once. */
  seenIds: readonly string[];
  /** Rooms waiting for their `enterroom`; sent one at a time so an error can be matched to its room. */
  enterQueue: readonly string[];
  inFlightEnter: { roomId: string; seq: number } | null;
  seq: number;
}

export type ChatInput =
  | { kind: 'connect'; nickname: string }
  | { kind: 'disconnect' }
  | { kind: 'reconnect-now' }
  | { kind: 'socket-connecting' }
  | { kind: 'socket-open' }
  | { kind: 'socket-closed'; code: number; reason: string }
  | { kind: 'server-event'; event: ServerEvent }
  | { kind: 'enter-room'; roomId: string; nickname: string }
  | { kind: 'exit-room'; roomId: string }
  | { kind: 'send-message'; roomId: string; text: string }
  | { kind: 'send-broadcast'; text: string }
  | { kind: 'select-room'; roomId: string }
  | { kind: 'dismiss-banner'; key: string }
  | { kind: 'dismiss-notice'; key: string }
  | { kind: 'enter-timeout'; seq: number }
  | { kind: 'retry-enter'; roomId: string }
  | { kind: 'send-timeout'; roomId: string; text: string };

export type Effect =
  | { type: 'open-socket'; afterMs: number }
  | { type: 'close-socket' }
  | { type: 'send'; frame: ClientFrame }
  | { type: 'after'; ms: number; input: ChatInput };

export interface Env {
  /** Milliseconds since the epoch. */
  now: number;
  /** A sample in [0, 1) for jitter. */
  random: number;
  backoff?: BackoffPolicy;
}

export interface Step {
  state: ChatState;
  effects: Effect[];
}

export const LIMITS = {
  seenIds: 2000,
  linesPerRoom: 500,
  banners: 3,
  notices: 4,
  enterTimeoutMs: 15_000,
  rejoinAttempts: 4,
  rejoinBaseMs: 1_000,
  /** How long the next message waits for the room's copy of the previous one. */
  sendTimeoutMs: 10_000,
  historyLimit: 100,
};

export function initialState(nickname = ''): ChatState {
  return {
    connection: { status: 'idle' },
    everOpened: false,
    nickname,
    rooms: [],
    activeRoomId: null,
    banners: [],
    notices: [],
    seenIds: [],
    enterQueue: [],
    inFlightEnter: null,
    seq: 0,
  };
}

// ---- small immutable helpers ----

function capTail<T>(items: readonly T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : [...items];
}

function findRoom(state: ChatState, roomId: string): Room | undefined {
  return state.rooms.find((r) => r.id === roomId);
}

function updateRoom(state: ChatState, roomId: string, change: (room: Room) => Room): ChatState {
  return { ...state, rooms: state.rooms.map((r) => (r.id === roomId ? change(r) : r)) };
}

function removeRoom(state: ChatState, roomId: string): ChatState {
  const index = state.rooms.findIndex((r) => r.id === roomId);
  if (index < 0) return state;
  const rooms = state.rooms.filter((r) => r.id !== roomId);
  let activeRoomId = state.activeRoomId;
  if (activeRoomId === roomId) {
    const next = rooms[Math.min(index, rooms.length - 1)];
    activeRoomId = next ? next.id : null;
  }
  return {
    ...state,
    rooms: activeRoomId ? rooms.map((r) => (r.id === activeRoomId ? { ...r, unread: 0 } : r)) : rooms,
    activeRoomId,
    enterQueue: state.enterQueue.filter((id) => id !== roomId),
  };
}

/** Adds a line in the room's order: a room event before any later one (by seq), others at the end. */
function addLine(room: Room, line: Line): Room {
  const later =
    line.seq === undefined
      ? -1
      : room.lines.findIndex((l) => l.seq !== undefined && l.seq > (line.seq as number));
  const lines =
    later < 0 ? [...room.lines, line] : [...room.lines.slice(0, later), line, ...room.lines.slice(later)];
  return {
    ...room,
    lines: capTail(lines, LIMITS.linesPerRoom),
    lastSeq: Math.max(room.lastSeq, line.seq ?? 0),
  };
}

function localKey(state: ChatState): [ChatState, string] {
  return [{ ...state, seq: state.seq + 1 }, `local-${state.seq + 1}`];
}

function systemLine(state: ChatState, roomId: string, text: string, env: Env, kind: Line['kind'] = 'system') {
  const [next, key] = localKey(state);
  return updateRoom(next, roomId, (room) =>
    addLine(room, { key, kind, at: new Date(env.now).toISOString(), text }),
  );
}

function notice(state: ChatState, level: Notice['level'], text: string, key?: string): ChatState {
  const [next, local] = localKey(state);
  return {
    ...next,
    notices: capTail([...next.notices, { key: key ?? local, level, text }], LIMITS.notices),
  };
}

function sortMembers(members: Iterable<string>): string[] {
  return [...new Set(members)].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }));
}

function selectRoom(state: ChatState, roomId: string): ChatState {
  if (!findRoom(state, roomId)) return state;
  return {
    ...updateRoom(state, roomId, (room) => ({ ...room, unread: 0 })),
    activeRoomId: roomId,
  };
}

const LEFT_TEXT: Record<LeaveReason, (nickname: string) => string> = {
  exit: (n) => `${n} left the room`,
  disconnect: (n) => `${n} disconnected`,
  gone: (n) => `${n}'s connection was lost`,
};

/** Sends the next queued `enterroom` when the socket is open and none is waiting for its answer. */
function pump(state: ChatState, effects: Effect[]): ChatState {
  let next = state;
  while (next.connection.status === 'open' && !next.inFlightEnter && next.enterQueue.length > 0) {
    const [roomId, ...rest] = next.enterQueue as [string, ...string[]];
    next = { ...next, enterQueue: rest };
    const room = findRoom(next, roomId);
    if (!room || (room.status !== 'entering' && room.status !== 'rejoining')) continue;
    const seq = next.seq + 1;
    next = { ...next, seq, inFlightEnter: { roomId, seq } };
    // Back after a drop: resume from the last event shown, so what was said meanwhile follows.
    const since = room.status === 'rejoining' && room.lastSeq > 0 ? { since: room.lastSeq } : {};
    effects.push(
      { type: 'send', frame: { action: 'enterroom', roomId, nickname: room.nickname, ...since } },
      { type: 'after', ms: LIMITS.enterTimeoutMs, input: { kind: 'enter-timeout', seq } },
    );
  }
  return next;
}

/** Sends the room's next message if none is waiting for its room copy. */
function flushOutbox(state: ChatState, roomId: string, effects: Effect[]): ChatState {
  const room = findRoom(state, roomId);
  if (!room || room.sending !== null || room.outbox.length === 0) return state;
  if (state.connection.status !== 'open' || room.status !== 'joined') return state;
  const [text, ...rest] = room.outbox as [string, ...string[]];
  effects.push(
    { type: 'send', frame: { action: 'sendmessage', roomId, message: text } },
    { type: 'after', ms: LIMITS.sendTimeoutMs, input: { kind: 'send-timeout', roomId, text } },
  );
  return updateRoom(state, roomId, (r) => ({ ...r, outbox: rest, sending: text }));
}

/** The message in flight is settled (its copy arrived, or it was refused): on to the next one. */
function settleSending(state: ChatState, roomId: string, effects: Effect[]): ChatState {
  return flushOutbox(
    updateRoom(state, roomId, (r) => ({ ...r, sending: null })),
    roomId,
    effects,
  );
}

/** A gap in the room's seqs (an event was parked, or a page was cut short): ask for what is missing. */
function fillGap(state: ChatState, roomId: string, seq: number, effects: Effect[]): void {
  const room = findRoom(state, roomId);
  if (!room || room.lastSeq === 0 || seq <= room.lastSeq + 1) return;
  const missing = seq - room.lastSeq - 1;
  effects.push({
    type: 'send',
    frame: { action: 'history', roomId, before: seq, limit: Math.min(LIMITS.historyLimit, missing) },
  });
}

/** Lines for events of the room's past (a `history` page): in place by seq, members untouched. */
function addHistory(state: ChatState, roomId: string, events: readonly RoomLogEvent[]): ChatState {
  let next = state;
  for (const event of events) {
    if (next.seenIds.includes(event.id)) continue;
    next = { ...next, seenIds: capTail([...next.seenIds, event.id], LIMITS.seenIds) };
    next = updateRoom(next, roomId, (room) => addLine(room, lineOf(room, event)));
  }
  return next;
}

function lineOf(room: Room, event: RoomLogEvent): Line {
  const base = { key: event.id, at: event.at, seq: event.seq };
  switch (event.type) {
    case 'message':
      return {
        ...base,
        kind: 'message',
        from: event.from,
        text: event.message,
        own: event.from === room.nickname,
      };
    case 'joined':
      return { ...base, kind: 'system', text: `${event.nickname} joined` };
    case 'left':
      return { ...base, kind: 'system', text: LEFT_TEXT[event.reason](event.nickname) };
  }
}

function queueEnter(state: ChatState, roomId: string): ChatState {
  if (state.enterQueue.includes(roomId) || state.inFlightEnter?.roomId === roomId) return state;
  return { ...state, enterQueue: [...state.enterQueue, roomId] };
}

// ---- server events ----

function onServerEvent(state: ChatState, event: ServerEvent, env: Env, effects: Effect[]): ChatState {
  if (state.seenIds.includes(event.id)) return state;
  let next: ChatState = { ...state, seenIds: capTail([...state.seenIds, event.id], LIMITS.seenIds) };

  switch (event.type) {
    case 'entered': {
      const existing = findRoom(next, event.roomId);
      if (next.inFlightEnter?.roomId === event.roomId) next = { ...next, inFlightEnter: null };
      const back = existing?.status === 'rejoining' || existing?.status === 'out';
      const line: Line = {
        key: event.id,
        kind: 'system',
        at: event.at,
        seq: event.seq,
        text: back ? `You are back in the room as ${event.nickname}` : `You entered as ${event.nickname}`,
      };
      if (existing) {
        next = updateRoom(next, event.roomId, (room) =>
          addLine(
            {
              ...room,
              nickname: event.nickname,
              status: 'joined',
              members: sortMembers(event.members),
              rejoinAttempts: 0,
            },
            line,
          ),
        );
      } else {
        const room: Room = {
          id: event.roomId,
          nickname: event.nickname,
          status: 'joined',
          members: sortMembers(event.members),
          lines: [line],
          unread: 0,
          rejoinAttempts: 0,
          lastSeq: event.seq,
          outbox: [],
          sending: null,
        };
        next = { ...next, rooms: [...next.rooms, room] };
        if (!next.activeRoomId) next = { ...next, activeRoomId: room.id };
      }
      if (event.resumed === false) {
        next = systemLine(
          next,
          event.roomId,
          'Some of what was said while you were away is no longer kept; the latest messages follow.',
          env,
        );
      }
      return pump(flushOutbox(next, event.roomId, effects), effects);
    }
    case 'joined': {
      if (!findRoom(next, event.roomId)) return next;
      fillGap(next, event.roomId, event.seq, effects);
      return updateRoom(next, event.roomId, (room) =>
        addLine({ ...room, members: sortMembers([...room.members, event.nickname]) }, lineOf(room, event)),
      );
    }
    case 'left': {
      if (!findRoom(next, event.roomId)) return next;
      fillGap(next, event.roomId, event.seq, effects);
      return updateRoom(next, event.roomId, (room) =>
        addLine({ ...room, members: room.members.filter((m) => m !== event.nickname) }, lineOf(room, event)),
      );
    }
    case 'history':
      if (!findRoom(next, event.roomId)) return next;
      return addHistory(next, event.roomId, event.events);
    case 'exited':
      return removeRoom(next, event.roomId);
    case 'message': {
      const target = findRoom(next, event.roomId);
      if (!target) return next;
      fillGap(next, event.roomId, event.seq, effects);
      const active = next.activeRoomId === event.roomId;
      next = updateRoom(next, event.roomId, (room) => {
        const own = event.from === room.nickname;
        return addLine(
          { ...room, unread: active || own ? room.unread : room.unread + 1 },
          lineOf(room, event),
        );
      });
      const mine = event.from === target.nickname && target.sending === event.message;
      return mine ? settleSending(next, event.roomId, effects) : next;
    }
    case 'broadcast':
      return {
        ...next,
        banners: capTail(
          [...next.banners, { key: event.id, from: event.from, message: event.message, at: event.at }],
          LIMITS.banners,
        ),
      };
    case 'error':
      return onError(next, event, env, effects);
  }
}

function onError(
  state: ChatState,
  event: Extract<ServerEvent, { type: 'error' }>,
  env: Env,
  effects: Effect[],
): ChatState {
  const inFlight = state.inFlightEnter;
  if (event.action === 'enterroom' && inFlight) {
    const room = findRoom(state, inFlight.roomId);
    let next: ChatState = { ...state, inFlightEnter: null };
    if (room?.status === 'rejoining') {
      // Right after a reconnect the server may still hold the old connection's nickname until
      // its $disconnect has run: wait a little and try again before giving up.
      if (event.code === 'nickname_taken' && room.rejoinAttempts < LIMITS.rejoinAttempts) {
        const ms = LIMITS.rejoinBaseMs * 2 ** room.rejoinAttempts;
        next = updateRoom(next, room.id, (r) => ({ ...r, rejoinAttempts: r.rejoinAttempts + 1 }));
        next = systemLine(
          next,
          room.id,
          `The nickname ${room.nickname} is still held by your old connection; trying again in ${Math.round(ms / 1000)} s`,
          env,
        );
        effects.push({ type: 'after', ms, input: { kind: 'retry-enter', roomId: room.id } });
      } else {
        next = updateRoom(next, room.id, (r) => ({ ...r, status: 'out' }));
        next = systemLine(next, room.id, `Could not enter the room again: ${event.message}`, env, 'error');
      }
    } else if (room?.status === 'entering') {
      next = removeRoom(next, room.id);
      next = notice(next, 'error', `Could not enter room ${room.id}: ${event.message}`, event.id);
    } else {
      next = notice(next, 'error', event.message, event.id);
    }
    return pump(next, effects);
  }
  if (event.action === 'sendmessage') {
    // The message in flight was refused (errors carry no room): every room sends its next one.
    let next = notice(state, 'error', event.message, event.id);
    for (const room of next.rooms) if (room.sending !== null) next = settleSending(next, room.id, effects);
    return next;
  }
  if (event.action === 'exitroom' && event.code === 'not_in_room') {
    // The server agrees we are not in it: finish the leave locally.
    const leaving = state.rooms.find((r) => r.status === 'leaving');
    if (leaving) return removeRoom(state, leaving.id);
  }
  return notice(state, 'error', event.message, event.id);
}

// ---- connection ----

function onSocketClosed(
  state: ChatState,
  code: number,
  reason: string,
  env: Env,
  effects: Effect[],
): ChatState {
  const status = state.connection.status;
  if (status === 'closed' || status === 'idle' || status === 'rejected') return state; // we closed it
  if (!state.everOpened) {
    return {
      ...state,
      connection: {
        status: 'rejected',
        reason:
          'The server refused the connection before it opened. Most often the token is wrong or missing ' +
          '(HTTP 401/403), but browsers do not show the status, so also check the endpoint URL.',
      },
    };
  }
  const policy = env.backoff ?? DEFAULT_BACKOFF;
  const attempt = status === 'connecting' ? state.connection.attempt : 0;
  let next: ChatState = { ...state, inFlightEnter: null, enterQueue: [] };
  if (status === 'open') {
    for (const room of state.rooms) {
      if (room.status === 'leaving') {
        next = removeRoom(next, room.id);
      } else if (room.status !== 'out') {
        const unsent = room.outbox.length;
        next = updateRoom(next, room.id, (r) => ({
          ...r,
          status: 'rejoining',
          members: [],
          outbox: [],
          sending: null,
        }));
        next = systemLine(
          next,
          room.id,
          `Connection lost; reconnecting. What is said meanwhile will be shown when you are back.${unsent > 0 ? ` ${unsent} message(s) you wrote were not sent.` : ''}`,
          env,
        );
      }
    }
  }
  if (attempt >= policy.maxAttempts) {
    return {
      ...next,
      connection: {
        status: 'closed',
        reason: `Could not reconnect after ${attempt} attempts. The server may be down or the token no longer valid.`,
      },
    };
  }
  const delay = reconnectDelay(attempt, env.random, policy);
  effects.push({ type: 'open-socket', afterMs: delay });
  const why = code === 1000 || code === 1001 ? 'The server closed the connection' : 'The connection dropped';
  return {
    ...next,
    connection: {
      status: 'waiting',
      attempt: attempt + 1,
      retryAt: env.now + delay,
      reason: `${why}${reason ? ` (${reason})` : ''}.`,
    },
  };
}

function onSocketOpen(state: ChatState, env: Env, effects: Effect[]): ChatState {
  let next: ChatState = { ...state, connection: { status: 'open' }, everOpened: true };
  for (const room of next.rooms) {
    if (room.status === 'rejoining' || room.status === 'entering') {
      next = queueEnter(next, room.id);
      if (room.status === 'rejoining') {
        next = systemLine(next, room.id, 'Reconnected; entering the room again…', env);
      }
    }
  }
  return pump(next, effects);
}

// ---- the reducer ----

export function reduce(state: ChatState, input: ChatInput, env: Env): Step {
  const effects: Effect[] = [];
  const next = step(state, input, env, effects);
  return { state: next, effects };
}

function step(state: ChatState, input: ChatInput, env: Env, effects: Effect[]): ChatState {
  switch (input.kind) {
    case 'connect': {
      const problem = input.nickname ? checkNickname(input.nickname) : null;
      if (problem) return notice(state, 'error', problem);
      effects.push({ type: 'open-socket', afterMs: 0 });
      return {
        ...state,
        nickname: input.nickname,
        everOpened: false,
        notices: [],
        connection: { status: 'connecting', attempt: 0 },
      };
    }
    case 'disconnect': {
      // Closing the socket takes this connection out of every room on the server too.
      effects.push({ type: 'close-socket' });
      return {
        ...state,
        rooms: [],
        activeRoomId: null,
        inFlightEnter: null,
        enterQueue: [],
        connection: { status: 'closed', reason: 'You disconnected.' },
      };
    }
    case 'reconnect-now': {
      if (state.connection.status !== 'waiting') return state;
      effects.push({ type: 'open-socket', afterMs: 0 });
      return { ...state, connection: { status: 'connecting', attempt: state.connection.attempt } };
    }
    case 'socket-connecting':
      // A scheduled retry has started: keep counting attempts.
      if (state.connection.status !== 'waiting') return state;
      return { ...state, connection: { status: 'connecting', attempt: state.connection.attempt } };
    case 'socket-open':
      return onSocketOpen(state, env, effects);
    case 'socket-closed':
      return onSocketClosed(state, input.code, input.reason, env, effects);
    case 'server-event':
      return onServerEvent(state, input.event, env, effects);
    case 'enter-room': {
      const roomId = input.roomId.trim();
      const nickname = input.nickname.trim();
      const problem = checkRoomId(roomId) ?? checkNickname(nickname);
      if (problem) return notice(state, 'error', problem);
      if (state.connection.status !== 'open') return notice(state, 'error', 'Not connected.');
      const existing = findRoom(state, roomId);
      if (existing && existing.status !== 'out') return selectRoom(state, roomId);
      let next: ChatState;
      if (existing) {
        next = updateRoom(state, roomId, (r) => ({ ...r, status: 'entering', nickname, rejoinAttempts: 0 }));
      } else {
        const room: Room = {
          id: roomId,
          nickname,
          status: 'entering',
          members: [],
          lines: [],
          unread: 0,
          rejoinAttempts: 0,
          lastSeq: 0,
          outbox: [],
          sending: null,
        };
        next = { ...state, rooms: [...state.rooms, room] };
      }
      next = selectRoom(next, roomId);
      return pump(queueEnter(next, roomId), effects);
    }
    case 'exit-room': {
      const room = findRoom(state, input.roomId);
      if (!room) return state;
      if (room.status === 'joined' && state.connection.status === 'open') {
        effects.push({ type: 'send', frame: { action: 'exitroom', roomId: room.id } });
        return updateRoom(state, room.id, (r) => ({ ...r, status: 'leaving' }));
      }
      return removeRoom(state, room.id);
    }
    case 'send-message': {
      const room = findRoom(state, input.roomId);
      if (!room) return state;
      if (state.connection.status !== 'open' || room.status !== 'joined') {
        return notice(state, 'error', 'Not sent: you are not in this room right now.');
      }
      const problem = checkMessage(input.text);
      if (problem) return notice(state, 'error', problem);
      const queued = updateRoom(state, room.id, (r) => ({ ...r, outbox: [...r.outbox, input.text] }));
      return flushOutbox(queued, room.id, effects);
    }
    case 'send-broadcast': {
      if (state.connection.status !== 'open') return notice(state, 'error', 'Not connected.');
      const problem = checkMessage(input.text);
      if (problem) return notice(state, 'error', problem);
      effects.push({ type: 'send', frame: { action: 'broadcast', message: input.text } });
      return state;
    }
    case 'select-room':
      return selectRoom(state, input.roomId);
    case 'dismiss-banner':
      return { ...state, banners: state.banners.filter((b) => b.key !== input.key) };
    case 'dismiss-notice':
      return { ...state, notices: state.notices.filter((n) => n.key !== input.key) };
    case 'enter-timeout': {
      const inFlight = state.inFlightEnter;
      if (!inFlight || inFlight.seq !== input.seq) return state;
      let next: ChatState = { ...state, inFlightEnter: null };
      next = updateRoom(next, inFlight.roomId, (r) => ({ ...r, status: 'out' }));
      next = systemLine(
        next,
        inFlight.roomId,
        'The server did not answer; try entering again.',
        env,
        'error',
      );
      return pump(next, effects);
    }
    case 'send-timeout': {
      const room = findRoom(state, input.roomId);
      if (room?.sending !== input.text) return state;
      return settleSending(state, room.id, effects);
    }
    case 'retry-enter': {
      const room = findRoom(state, input.roomId);
      if (room?.status !== 'rejoining') return state;
      return pump(queueEnter(state, room.id), effects);
    }
  }
}

/** Rooms to show as "in" for the reconnect plan: the ones the page will re-enter after a drop. */
export function roomsToReenter(state: ChatState): string[] {
  return state.rooms.filter((r) => r.status === 'rejoining' || r.status === 'entering').map((r) => r.id);
}

export function totalUnread(state: ChatState): number {
  return state.rooms.reduce((sum, r) => sum + r.unread, 0);
}
