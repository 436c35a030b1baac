import {
  BROADCAST_GROUP,
  messageGroupOf,
  parseRoomEvent,
  ROOM_EVENT_VERSION,
  type RoomEvent,
  roomEvent,
} from '../../../functions/shared/domain/room-events';
import fixtures from '../../support/fixtures/room-events.v1.json';

const events = fixtures as RoomEvent[];
const byKind = (kind: RoomEvent['kind']) => {
  const event = events.find((e) => e.kind === kind);
  if (!event) throw new Error(`no ${kind} fixture`);
  return event;
};

describe('the room event contract (v1)', () => {
  it.each(events.map((e) => [`${e.kind}${'reason' in e ? ` (${e.reason})` : ''}`, e]))(
    'accepts the %s fixture unchanged',
    (_name, event) => {
      expect(parseRoomEvent(JSON.stringify(event))).toEqual(event);
    },
  );

  it('has a fixture for every kind', () => {
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(['joined', 'message', 'left', 'broadcast']));
  });

  it('rejects a body that is not JSON', () => {
    expect(() => parseRoomEvent('not json')).toThrow();
  });

  it('rejects another version', () => {
    expect(() => parseRoomEvent(JSON.stringify({ ...byKind('message'), v: 2 }))).toThrow();
  });

  it('rejects an unknown kind', () => {
    expect(() => parseRoomEvent(JSON.stringify({ ...byKind('message'), kind: 'typing' }))).toThrow();
  });

  it('rejects a message event without its sender', () => {
    const { from: _from, ...withoutFrom } = byKind('message') as Extract<RoomEvent, { kind: 'message' }>;

    expect(() => parseRoomEvent(JSON.stringify(withoutFrom))).toThrow();
  });

  it('rejects a left event with an unknown reason', () => {
    expect(() => parseRoomEvent(JSON.stringify({ ...byKind('left'), reason: 'kicked' }))).toThrow();
  });

  it('rejects a time that is not ISO-8601', () => {
    expect(() => parseRoomEvent(JSON.stringify({ ...byKind('message'), at: 'yesterday' }))).toThrow();
  });

  it('rejects an empty id', () => {
    expect(() => parseRoomEvent(JSON.stringify({ ...byKind('message'), id: '' }))).toThrow();
  });
});

describe('roomEvent', () => {
  it('stamps the version, a fresh id and the given time', () => {
    const at = new Date('2030-01-01T00:00:00.000Z');

    const a = roomEvent({ kind: 'broadcast', from: 'admin', message: 'x' }, at);
    const b = roomEvent({ kind: 'broadcast', from: 'admin', message: 'x' }, at);

    expect(a).toMatchObject({ v: ROOM_EVENT_VERSION, at: '2030-01-01T00:00:00.000Z' });
    expect(a.id).not.toBe(b.id);
    expect(parseRoomEvent(JSON.stringify(a))).toEqual(a);
  });
});

describe('messageGroupOf', () => {
  it('groups room events by room', () => {
    expect(messageGroupOf(byKind('message'))).toBe('room:1');
    expect(messageGroupOf(byKind('joined'))).toBe('room:1');
  });

  it('puts broadcasts in their own group, which no room id can produce', () => {
    expect(messageGroupOf(byKind('broadcast'))).toBe(BROADCAST_GROUP);
    expect(BROADCAST_GROUP.startsWith('room:')).toBe(false);
  });
});
