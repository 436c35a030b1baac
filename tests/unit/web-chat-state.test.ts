import type { ServerEvent } from '../../functions/shared/domain/protocol';
import {
  type ChatInput,
  type ChatState,
  type Effect,
  type Env,
  initialState,
  LIMITS,
  reduce,
  roomsToReenter,
  totalUnread,
} from '../../web/src/chat-state';

const T0 = Date.parse('2026-11-25T15:00:00.000Z');
const env: Env = { now: T0, random: 0.5 };

let counter = 0;
let seqCounter = 0;
type EventInput = ServerEvent extends infer E
  ? E extends unknown
    ? Omit<E, 'id' | 'at' | 'seq' | 'fromId'> & { seq?: number; fromId?: string }
    : never
  : never;
const ROOM_EVENTS = ['entered', 'joined', 'message', 'left', 'exited'];
/** A server event; room events get the room's next seq unless they give one. */
function ev(input: EventInput, id = `e${++counter}`): ChatInput {
  const seq = ROOM_EVENTS.includes(input.type) ? { seq: input.seq ?? ++seqCounter } : {};
  const fromId = input.type === 'message' ? { fromId: input.fromId ?? `f-${input.from}` } : {};
  return {
    kind: 'server-event',
    event: { ...input, ...seq, ...fromId, id, at: '2026-11-25T15:00:01.000Z' } as ServerEvent,
  };
}

/** Feeds inputs in order; returns the final state and every effect produced on the way. */
function run(state: ChatState, ...inputs: ChatInput[]): { state: ChatState; effects: Effect[] } {
  const effects: Effect[] = [];
  let current = state;
  for (const input of inputs) {
    const step = reduce(current, input, env);
    current = step.state;
    effects.push(...step.effects);
  }
  return { state: current, effects };
}

function sends(effects: Effect[]) {
  return effects.flatMap((e) => (e.type === 'send' ? [e.frame] : []));
}

function connected(): ChatState {
  return run(initialState(), { kind: 'connect', nickname: 'Mikki' }, { kind: 'socket-open' }).state;
}

/** Connected and inside room `roomId` with the given members. */
function inRoom(roomId = '1', members = ['Mikki', 'Aku'], state = connected()): ChatState {
  return run(
    state,
    { kind: 'enter-room', roomId, nickname: 'Mikki' },
    ev({ type: 'entered', roomId, nickname: 'Mikki', members, memberCount: members.length }),
  ).state;
}

function room(state: ChatState, id: string) {
  const found = state.rooms.find((r) => r.id === id);
  if (!found) throw new Error(`no room ${id}`);
  return found;
}

beforeEach(() => {
  counter = 0;
  seqCounter = 0;
});

describe('connecting', () => {
  it('opens the socket at once when the person connects', () => {
    const { state, effects } = run(initialState(), { kind: 'connect', nickname: 'Mikki' });
    expect(effects).toEqual([{ type: 'open-socket', afterMs: 0 }]);
    expect(state.connection).toEqual({ status: 'connecting', attempt: 0 });
  });

  it('says the token was probably rejected when the first handshake fails, and does not retry', () => {
    const { state, effects } = run(
      initialState(),
      { kind: 'connect', nickname: 'Mikki' },
      { kind: 'socket-closed', code: 1006, reason: '' },
    );
    expect(state.connection.status).toBe('rejected');
    expect(state.connection.status === 'rejected' && state.connection.reason).toMatch(/token/);
    expect(effects.filter((e) => e.type === 'open-socket')).toHaveLength(1);
  });

  it('refuses a nickname the server would refuse', () => {
    const { state, effects } = run(initialState(), { kind: 'connect', nickname: 'bad<name>' });
    expect(effects).toEqual([]);
    expect(state.notices[0]?.text).toMatch(/nickname may contain/i);
  });
});

describe('entering and leaving rooms', () => {
  it('sends enterroom and shows the room as entering until the server confirms', () => {
    const { state, effects } = run(connected(), { kind: 'enter-room', roomId: '1', nickname: 'Mikki' });
    expect(sends(effects)).toEqual([{ action: 'enterroom', roomId: '1', nickname: 'Mikki' }]);
    expect(room(state, '1').status).toBe('entering');
    expect(state.activeRoomId).toBe('1');
  });

  it('takes the member list from entered', () => {
    const state = inRoom('1', ['Roope', 'Mikki', 'aku']);
    expect(room(state, '1')).toMatchObject({ status: 'joined', members: ['aku', 'Mikki', 'Roope'] });
  });

  it('follows joined and left in the member list, with quiet system lines that give the reason', () => {
    const { state } = run(
      inRoom('1', ['Mikki']),
      ev({ type: 'joined', roomId: '1', nickname: 'Hessu' }),
      ev({ type: 'joined', roomId: '1', nickname: 'Aku' }),
      ev({ type: 'left', roomId: '1', nickname: 'Hessu', reason: 'exit' }),
      ev({ type: 'left', roomId: '1', nickname: 'Aku', reason: 'gone' }),
    );
    expect(room(state, '1').members).toEqual(['Mikki']);
    const system = room(state, '1')
      .lines.filter((l) => l.kind === 'system')
      .map((l) => l.text);
    expect(system).toEqual([
      'You entered as Mikki',
      'Hessu joined',
      'Aku joined',
      'Hessu left the room',
      "Aku's connection was lost",
    ]);
  });

  it('says "disconnected" for a member whose connection closed without exiting', () => {
    const { state } = run(inRoom(), ev({ type: 'left', roomId: '1', nickname: 'Aku', reason: 'disconnect' }));
    expect(room(state, '1').lines.at(-1)?.text).toBe('Aku disconnected');
  });

  it('sends exitroom on leave and drops the room when the server says exited', () => {
    const left = run(inRoom(), { kind: 'exit-room', roomId: '1' });
    expect(sends(left.effects)).toEqual([{ action: 'exitroom', roomId: '1' }]);
    expect(room(left.state, '1').status).toBe('leaving');
    const { state } = run(left.state, ev({ type: 'exited', roomId: '1' }));
    expect(state.rooms).toEqual([]);
    expect(state.activeRoomId).toBeNull();
  });

  it('switches to a neighbouring room when the active one is left', () => {
    let state = inRoom('1');
    state = inRoom('2', ['Mikki'], state);
    state = run(state, { kind: 'exit-room', roomId: '2' }, ev({ type: 'exited', roomId: '2' })).state;
    expect(state.activeRoomId).toBe('1');
  });

  it('sends one enterroom at a time so an error can be matched to its room', () => {
    const { state, effects } = run(
      connected(),
      { kind: 'enter-room', roomId: 'a', nickname: 'Mikki' },
      { kind: 'enter-room', roomId: 'b', nickname: 'Mikki' },
    );
    expect(sends(effects).map((f) => 'roomId' in f && f.roomId)).toEqual(['a']);
    const after = run(
      state,
      ev({ type: 'entered', roomId: 'a', nickname: 'Mikki', members: ['Mikki'], memberCount: 1 }),
    );
    expect(sends(after.effects)).toEqual([{ action: 'enterroom', roomId: 'b', nickname: 'Mikki' }]);
  });

  it('drops a room it could not enter and shows the server message', () => {
    const { state } = run(
      connected(),
      { kind: 'enter-room', roomId: '1', nickname: 'Aku' },
      ev({ type: 'error', code: 'nickname_taken', message: 'Nickname "Aku" is taken.', action: 'enterroom' }),
    );
    expect(state.rooms).toEqual([]);
    expect(state.notices.map((n) => n.text)).toEqual(['Could not enter room 1: Nickname "Aku" is taken.']);
  });

  it('checks the room id before sending', () => {
    const { state, effects } = run(connected(), {
      kind: 'enter-room',
      roomId: 'no spaces',
      nickname: 'Mikki',
    });
    expect(effects).toEqual([]);
    expect(state.notices[0]?.text).toMatch(/Room ids/);
  });

  it('selects an already entered room instead of entering it twice', () => {
    let state = inRoom('1');
    state = inRoom('2', ['Mikki'], state);
    const { state: next, effects } = run(state, { kind: 'enter-room', roomId: '1', nickname: 'Mikki' });
    expect(effects).toEqual([]);
    expect(next.activeRoomId).toBe('1');
  });
});

describe('messages', () => {
  it('shows sender, time and text, and marks its own messages', () => {
    const { state } = run(
      inRoom(),
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'Moi' }, 'm1'),
      ev({ type: 'message', roomId: '1', from: 'Mikki', message: 'Hei' }, 'm2'),
    );
    const messages = room(state, '1').lines.filter((l) => l.kind === 'message');
    expect(messages).toEqual([
      {
        key: 'm1',
        kind: 'message',
        at: '2026-11-25T15:00:01.000Z',
        from: 'Aku',
        text: 'Moi',
        own: false,
        seq: 2,
      },
      {
        key: 'm2',
        kind: 'message',
        at: '2026-11-25T15:00:01.000Z',
        from: 'Mikki',
        text: 'Hei',
        own: true,
        seq: 3,
      },
    ]);
  });

  it('shows an event delivered twice (same id) once', () => {
    const twice = ev({ type: 'message', roomId: '1', from: 'Aku', message: 'Moi' }, 'dup');
    const { state } = run(inRoom(), twice, twice, ev({ type: 'joined', roomId: '1', nickname: 'X' }, 'dup'));
    expect(room(state, '1').lines.filter((l) => l.key === 'dup')).toHaveLength(1);
    expect(room(state, '1').members).not.toContain('X');
  });

  it('forgets old ids only beyond its window', () => {
    let state = inRoom();
    for (let i = 0; i < LIMITS.seenIds + 5; i += 1) {
      state = run(state, ev({ type: 'message', roomId: '1', from: 'Aku', message: String(i) })).state;
    }
    expect(state.seenIds).toHaveLength(LIMITS.seenIds);
    expect(room(state, '1').lines.length).toBeLessThanOrEqual(LIMITS.linesPerRoom);
  });

  it('counts unread messages in rooms that are not on screen and clears them when selected', () => {
    let state = inRoom('1');
    state = inRoom('2', ['Mikki'], state);
    state = run(
      state,
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'a' }),
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'b' }),
      ev({ type: 'message', roomId: '2', from: 'Aku', message: 'c' }),
      ev({ type: 'joined', roomId: '1', nickname: 'Hessu' }),
    ).state;
    expect(state.activeRoomId).toBe('2');
    expect(room(state, '1').unread).toBe(2);
    expect(room(state, '2').unread).toBe(0);
    expect(totalUnread(state)).toBe(2);
    state = run(state, { kind: 'select-room', roomId: '1' }).state;
    expect(room(state, '1').unread).toBe(0);
  });

  it('sends a message to the room it is typed in', () => {
    const { effects } = run(inRoom(), { kind: 'send-message', roomId: '1', text: 'Hei kaikki!' });
    expect(sends(effects)).toEqual([{ action: 'sendmessage', roomId: '1', message: 'Hei kaikki!' }]);
  });

  it('does not send empty or over-long messages', () => {
    const { state, effects } = run(
      inRoom(),
      { kind: 'send-message', roomId: '1', text: '   ' },
      { kind: 'send-message', roomId: '1', text: 'ä'.repeat(2049) },
    );
    expect(effects).toEqual([]);
    expect(state.notices.map((n) => n.text)).toEqual([
      'Write something first.',
      'Messages are at most 4096 bytes; this one is 4098.',
    ]);
  });

  it('keeps message text verbatim (rendering is text-only)', () => {
    const payload = '<img src=x onerror=alert(1)>';
    const { state } = run(inRoom(), ev({ type: 'message', roomId: '1', from: 'Aku', message: payload }));
    expect(room(state, '1').lines.at(-1)?.text).toBe(payload);
  });
});

describe('broadcasts and errors', () => {
  it('shows a broadcast as a banner that can be dismissed', () => {
    const { state } = run(
      connected(),
      ev({ type: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' }, 'b1'),
    );
    expect(state.banners).toEqual([
      { key: 'b1', from: 'admin', message: 'Huoltokatko klo 18', at: '2026-11-25T15:00:01.000Z' },
    ]);
    expect(run(state, { kind: 'dismiss-banner', key: 'b1' }).state.banners).toEqual([]);
  });

  it('shows error events to the person with their message', () => {
    const { state } = run(
      inRoom(),
      ev(
        { type: 'error', code: 'forbidden', message: 'Only admins may broadcast.', action: 'broadcast' },
        'x1',
      ),
    );
    expect(state.notices).toEqual([{ key: 'x1', level: 'error', text: 'Only admins may broadcast.' }]);
    expect(run(state, { kind: 'dismiss-notice', key: 'x1' }).state.notices).toEqual([]);
  });

  it('finishes a leave locally when the server says the connection is not in the room', () => {
    const { state } = run(
      inRoom(),
      { kind: 'exit-room', roomId: '1' },
      ev({ type: 'error', code: 'not_in_room', message: 'You are not in room "1".', action: 'exitroom' }),
    );
    expect(state.rooms).toEqual([]);
  });
});

describe('reconnecting', () => {
  it('schedules a retry with backoff when an open connection drops, and marks rooms for re-entry', () => {
    const { state, effects } = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' });
    expect(state.connection).toMatchObject({ status: 'waiting', attempt: 1 });
    const open = effects.find((e) => e.type === 'open-socket');
    expect(open).toEqual({ type: 'open-socket', afterMs: 375 });
    expect(room(state, '1')).toMatchObject({ status: 'rejoining', members: [] });
    expect(roomsToReenter(state)).toEqual(['1']);
    expect(room(state, '1').lines.at(-1)?.text).toMatch(/Connection lost/);
  });

  it('backs off further on every failed attempt, then gives up and says why', () => {
    let state = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const delays: number[] = [];
    for (let i = 0; i < 12 && state.connection.status === 'waiting'; i += 1) {
      const step = run(
        state,
        { kind: 'socket-connecting' },
        { kind: 'socket-closed', code: 1006, reason: '' },
      );
      state = step.state;
      for (const e of step.effects) if (e.type === 'open-socket') delays.push(e.afterMs);
    }
    expect(delays.slice(0, 4)).toEqual([750, 1500, 3000, 6000]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
    expect(state.connection.status).toBe('closed');
    expect(state.connection.status === 'closed' && state.connection.reason).toMatch(/Could not reconnect/);
  });

  it('re-enters every room it was in, under the same nickname, once the socket is back', () => {
    let state = inRoom('1');
    state = inRoom('2', ['Mikki'], state);
    state = run(state, { kind: 'socket-closed', code: 1001, reason: 'Going away' }).state;
    const back = run(state, { kind: 'socket-connecting' }, { kind: 'socket-open' });
    // Resuming from the last event shown (its `entered`, seq 1).
    expect(sends(back.effects)).toEqual([{ action: 'enterroom', roomId: '1', nickname: 'Mikki', since: 1 }]);
    const done = run(
      back.state,
      ev({ type: 'entered', roomId: '1', nickname: 'Mikki', members: ['Mikki', 'Aku'], memberCount: 2 }),
      ev({ type: 'entered', roomId: '2', nickname: 'Mikki', members: ['Mikki'], memberCount: 1 }),
    );
    expect(sends(done.effects)).toEqual([{ action: 'enterroom', roomId: '2', nickname: 'Mikki', since: 2 }]);
    expect(done.state.rooms.map((r) => r.status)).toEqual(['joined', 'joined']);
    expect(room(done.state, '1').lines.at(-1)?.text).toBe('You are back in the room as Mikki');
    expect(done.state.connection).toEqual({ status: 'open' });
  });

  it('waits and retries when the old connection still holds the nickname', () => {
    const dropped = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const { state, effects } = run(
      dropped,
      { kind: 'socket-open' },
      ev({ type: 'error', code: 'nickname_taken', message: 'taken', action: 'enterroom' }),
    );
    expect(effects.at(-1)).toEqual({
      type: 'after',
      ms: LIMITS.rejoinBaseMs,
      input: { kind: 'retry-enter', roomId: '1' },
    });
    expect(room(state, '1').status).toBe('rejoining');
    const retry = run(state, { kind: 'retry-enter', roomId: '1' });
    expect(sends(retry.effects)).toEqual([{ action: 'enterroom', roomId: '1', nickname: 'Mikki', since: 1 }]);
  });

  it('marks a room as out when re-entering fails for good', () => {
    const dropped = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const { state } = run(
      dropped,
      { kind: 'socket-open' },
      ev({ type: 'error', code: 'internal', message: 'Something failed.', action: 'enterroom' }),
    );
    expect(room(state, '1').status).toBe('out');
    expect(room(state, '1').lines.at(-1)).toMatchObject({ kind: 'error', text: /Something failed/ });
  });

  it('gives up on an enterroom that gets no answer and moves on', () => {
    const { state, effects } = run(connected(), { kind: 'enter-room', roomId: '1', nickname: 'Mikki' });
    const timeout = effects.find((e) => e.type === 'after');
    expect(timeout).toEqual({
      type: 'after',
      ms: LIMITS.enterTimeoutMs,
      input: { kind: 'enter-timeout', seq: 1 },
    });
    if (timeout?.type !== 'after') throw new Error('no timeout');
    const after = run(state, timeout.input);
    expect(room(after.state, '1').status).toBe('out');
    expect(after.state.inFlightEnter).toBeNull();
  });

  it('reconnects at once when asked, keeping the attempt count', () => {
    const dropped = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const { state, effects } = run(dropped, { kind: 'reconnect-now' });
    expect(effects).toEqual([{ type: 'open-socket', afterMs: 0 }]);
    expect(state.connection).toEqual({ status: 'connecting', attempt: 1 });
  });

  it('leaves every room and stops when the person disconnects', () => {
    const { state, effects } = run(
      inRoom(),
      { kind: 'disconnect' },
      { kind: 'socket-closed', code: 1000, reason: '' },
    );
    expect(effects).toEqual([{ type: 'close-socket' }]);
    expect(state.rooms).toEqual([]);
    expect(state.connection).toEqual({ status: 'closed', reason: 'You disconnected.' });
  });

  it('does not send while offline', () => {
    const dropped = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const { state, effects } = run(dropped, { kind: 'send-message', roomId: '1', text: 'hello?' });
    expect(sends(effects)).toEqual([]);
    expect(state.notices.at(-1)?.text).toMatch(/Not sent/);
  });
});

describe("the room's log: history, resume and gaps", () => {
  const texts = (state: ChatState) => room(state, '1').lines.map((l) => l.text);

  it('shows the page that follows `entered` before it, without changing the members', () => {
    const { state } = run(
      connected(),
      { kind: 'enter-room', roomId: '1', nickname: 'Mikki' },
      ev({
        type: 'entered',
        roomId: '1',
        nickname: 'Mikki',
        members: ['Aku', 'Mikki'],
        memberCount: 2,
        seq: 4,
      }),
      ev({
        type: 'history',
        roomId: '1',
        more: false,
        events: [
          { type: 'joined', roomId: '1', seq: 1, nickname: 'Hessu', id: 'h1', at: 'x' },
          {
            type: 'message',
            roomId: '1',
            seq: 2,
            from: 'Hessu',
            fromId: 'f',
            message: 'first',
            id: 'h2',
            at: 'x',
          },
          { type: 'left', roomId: '1', seq: 3, nickname: 'Hessu', reason: 'exit', id: 'h3', at: 'x' },
        ],
      }),
    );

    expect(texts(state)).toEqual(['Hessu joined', 'first', 'Hessu left the room', 'You entered as Mikki']);
    expect(room(state, '1').members).toEqual(['Aku', 'Mikki']);
    expect(room(state, '1').lastSeq).toBe(4);
  });

  it('resumes after a drop from the last seq shown, and puts what was missed in place, once', () => {
    let state = run(
      inRoom(),
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'before', seq: 2 }, 'b'),
    ).state;
    state = run(state, { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const back = run(state, { kind: 'socket-connecting' }, { kind: 'socket-open' });
    expect(sends(back.effects)).toEqual([{ action: 'enterroom', roomId: '1', nickname: 'Mikki', since: 2 }]);

    const { state: resumed } = run(
      back.state,
      ev({
        type: 'entered',
        roomId: '1',
        nickname: 'Mikki',
        members: ['Aku', 'Mikki'],
        memberCount: 2,
        seq: 6,
        resumed: true,
      }),
      ev({
        type: 'history',
        roomId: '1',
        more: true,
        events: [
          {
            type: 'message',
            roomId: '1',
            seq: 3,
            from: 'Aku',
            fromId: 'f',
            message: 'while away 1',
            id: 'w1',
            at: 'x',
          },
          {
            type: 'message',
            roomId: '1',
            seq: 4,
            from: 'Aku',
            fromId: 'f',
            message: 'while away 2',
            id: 'w2',
            at: 'x',
          },
          { type: 'left', roomId: '1', seq: 5, nickname: 'Mikki', reason: 'disconnect', id: 'w3', at: 'x' },
        ],
      }),
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'while away 1', seq: 3 }, 'w1'),
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'live', seq: 7 }, 'l'),
    );

    const messages = room(resumed, '1')
      .lines.filter((l) => l.kind === 'message')
      .map((l) => l.text);
    expect(messages).toEqual(['before', 'while away 1', 'while away 2', 'live']);
    const seqs = room(resumed, '1').lines.flatMap((l) => (l.seq === undefined ? [] : [l.seq]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('says so when not everything missed was kept', () => {
    const state = run(inRoom(), { kind: 'socket-closed', code: 1006, reason: '' }).state;
    const { state: back } = run(
      state,
      { kind: 'socket-connecting' },
      { kind: 'socket-open' },
      ev({
        type: 'entered',
        roomId: '1',
        nickname: 'Mikki',
        members: ['Mikki'],
        memberCount: 1,
        seq: 900,
        resumed: false,
      }),
    );
    expect(texts(back).some((t) => /no longer kept/.test(t))).toBe(true);
  });

  it('asks for the events a gap in the seqs left out', () => {
    const { effects } = run(
      inRoom(),
      ev({ type: 'message', roomId: '1', from: 'Aku', message: 'late', seq: 5 }),
    );
    expect(sends(effects)).toEqual([{ action: 'history', roomId: '1', before: 5, limit: 3 }]);
  });
});

describe('sending in order', () => {
  it('sends the next message only once the room has the previous one', () => {
    const first = run(
      inRoom(),
      { kind: 'send-message', roomId: '1', text: 'one' },
      { kind: 'send-message', roomId: '1', text: 'two' },
    );
    expect(sends(first.effects)).toEqual([{ action: 'sendmessage', roomId: '1', message: 'one' }]);
    expect(room(first.state, '1').outbox).toEqual(['two']);

    const next = run(first.state, ev({ type: 'message', roomId: '1', from: 'Mikki', message: 'one' }));
    expect(sends(next.effects)).toEqual([{ action: 'sendmessage', roomId: '1', message: 'two' }]);
  });

  it('moves on when the message in flight is refused, or its copy does not come in time', () => {
    const queued = run(
      inRoom(),
      { kind: 'send-message', roomId: '1', text: 'one' },
      { kind: 'send-message', roomId: '1', text: 'two' },
    );
    const refused = run(
      queued.state,
      ev({ type: 'error', code: 'rate_limited', message: 'Slow down', action: 'sendmessage' }),
    );
    expect(sends(refused.effects)).toEqual([{ action: 'sendmessage', roomId: '1', message: 'two' }]);

    const timedOut = run(queued.state, { kind: 'send-timeout', roomId: '1', text: 'one' });
    expect(sends(timedOut.effects)).toEqual([{ action: 'sendmessage', roomId: '1', message: 'two' }]);
  });

  it('tells how many written messages were not sent when the connection drops', () => {
    const queued = run(
      inRoom(),
      { kind: 'send-message', roomId: '1', text: 'one' },
      { kind: 'send-message', roomId: '1', text: 'two' },
    );
    const { state } = run(queued.state, { kind: 'socket-closed', code: 1006, reason: '' });
    expect(room(state, '1').lines.at(-1)?.text).toMatch(/1 message\(s\) you wrote were not sent/);
  });
});
