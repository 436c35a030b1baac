import {
  deduplicationIdOf,
  type EntryEvent,
  entryEventId,
  messageGroupOf,
  parseRoomEvent,
  ROOM_EVENT_VERSION,
  type RoomEvent,
  roomEvent,
} from '../../../functions/shared/domain/room-events';
import fixtures from '../../support/fixtures/room-events.v2.json';

const events = fixtures as RoomEvent[];
const byKind = <K extends RoomEvent['kind']>(
  kind: K,
  match: (e: Extract<RoomEvent, { kind: K }>) => boolean = () => true,
) => {
  const event = events.find(
    (e): e is Extract<RoomEvent, { kind: K }> => e.kind === kind && match(e as never),
  );
  if (!event) throw new Error(`no ${kind} fixture`);
  return event;
};
const nameOf = (e: RoomEvent) =>
  `${e.kind}${'reason' in e ? ` (${e.reason})` : ''}${'since' in e ? ' with since' : ''}${
    e.kind === 'broadcast' ? (e.shard === undefined ? ' without shard' : ' with shard') : ''
  }${e.kind === 'slice' ? (e.subject === undefined ? '' : e.subject.entered ? ' for a newcomer' : ' for a leaver') : ''}`;
const rejects = (event: unknown) => expect(() => parseRoomEvent(JSON.stringify(event))).toThrow();

describe('the room event contract (v2)', () => {
  it.each(events.map((e) => [nameOf(e), e]))('accepts the %s fixture unchanged', (_name, event) => {
    expect(parseRoomEvent(JSON.stringify(event))).toEqual(event);
  });

  it('has a fixture for every kind, reason, resume and broadcast shape', () => {
    expect(new Set(events.map(nameOf))).toEqual(
      new Set([
        'joined',
        'joined with since',
        'message',
        'left (exit)',
        'left (disconnect)',
        'left (gone)',
        'broadcast without shard',
        'broadcast with shard',
        'slice',
        'slice for a newcomer',
        'slice for a leaver',
      ]),
    );
  });

  it('rejects a body that is not JSON', () => {
    expect(() => parseRoomEvent('not json')).toThrow();
  });

  it('rejects version 1 (events that name no entry)', () => {
    rejects({ ...byKind('message'), v: 1 });
  });

  it('rejects an unknown kind', () => {
    rejects({ ...byKind('message'), kind: 'typing' });
  });

  it.each(['joined', 'message', 'left'] as const)('rejects a %s without the entry it concerns', (kind) => {
    const { entryId: _entryId, ...withoutEntry } = byKind(kind) as EntryEvent;

    rejects(withoutEntry);
  });

  it('rejects a message without its sender id', () => {
    const { fromId: _fromId, ...withoutFromId } = byKind('message');

    rejects(withoutFromId);
  });

  it('rejects a left with an unknown reason', () => {
    rejects({ ...byKind('left'), reason: 'kicked' });
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['a string', '3'],
  ])('rejects a since that is %s', (_what, since) => {
    rejects({ ...byKind('joined'), since });
  });

  it.each([
    ['negative', -1],
    ['fractional', 0.5],
  ])('rejects a broadcast shard that is %s', (_what, shard) => {
    rejects({ ...byKind('broadcast'), shard });
  });

  it.each([
    ['negative', { slice: -1 }],
    ['without a seq', { seq: undefined }],
    ['at seq 0', { seq: 0 }],
    ['without the frame', { frame: undefined }],
  ])('rejects a slice record %s', (_what, change) => {
    rejects({ ...byKind('slice'), ...change });
  });

  it.each([
    ['a time that is not ISO-8601', { at: 'yesterday' }],
    ['an empty id', { id: '' }],
    ['an id over 80 characters', { id: 'x'.repeat(81) }],
    ['a room id over 64 characters', { roomId: 'r'.repeat(65) }],
    ['an empty connection id', { connectionId: '' }],
  ])('rejects %s', (_what, change) => {
    rejects({ ...byKind('message'), ...change });
  });
});

describe('roomEvent', () => {
  const at = new Date('2030-01-01T00:00:00.000Z');

  it('stamps the version, a fresh id and the given time', () => {
    const a = roomEvent({ kind: 'broadcast', from: 'admin', message: 'x' }, at);
    const b = roomEvent({ kind: 'broadcast', from: 'admin', message: 'x' }, at);

    expect(a).toMatchObject({ v: ROOM_EVENT_VERSION, at: '2030-01-01T00:00:00.000Z' });
    expect(a.id).not.toBe(b.id);
    expect(parseRoomEvent(JSON.stringify(a))).toEqual(a);
  });

  it('keeps an id it is given', () => {
    expect(roomEvent({ kind: 'broadcast', from: 'admin', message: 'x' }, at, 'given').id).toBe('given');
  });
});

describe('entryEventId', () => {
  it('is the same for the same kind and entry, so a retried publish carries the same id', () => {
    expect(entryEventId('left', 'entry-1')).toBe(entryEventId('left', 'entry-1'));
  });

  it("differs between an entry's joined and left, and between entries", () => {
    const ids = [entryEventId('joined', 'e1'), entryEventId('left', 'e1'), entryEventId('joined', 'e2')];

    expect(new Set(ids).size).toBe(3);
  });

  it('is 32 hex characters, within the contract and a valid SQS deduplication id', () => {
    expect(entryEventId('joined', 'e1')).toMatch(/^[0-9a-f]{32}$/);
    expect(
      parseRoomEvent(JSON.stringify({ ...byKind('joined'), id: entryEventId('joined', 'e1') })),
    ).toBeDefined();
  });
});

describe('deduplicationIdOf', () => {
  it('is the event id for room events and the broadcast record the route queues', () => {
    expect(deduplicationIdOf(byKind('message'))).toBe(byKind('message').id);
    const unsharded = byKind('broadcast', (e) => e.shard === undefined);
    expect(deduplicationIdOf(unsharded)).toBe(unsharded.id);
  });

  it("tells a room event's slice records apart, though they share the event's id", () => {
    const slice = byKind('slice', (e) => e.subject === undefined);

    expect(deduplicationIdOf(slice)).toBe(`${slice.id}:s42`);
    expect(deduplicationIdOf({ ...slice, slice: 7 })).not.toBe(deduplicationIdOf(slice));
  });

  it("tells a broadcast's shard records apart, though they share the broadcast's id", () => {
    const sharded = byKind('broadcast', (e) => e.shard !== undefined);

    expect(deduplicationIdOf(sharded)).toBe(`${sharded.id}:15`);
    expect(deduplicationIdOf({ ...sharded, shard: 3 })).not.toBe(deduplicationIdOf(sharded));
  });
});

describe('messageGroupOf', () => {
  it('groups every event of a room in the room', () => {
    for (const kind of ['joined', 'message', 'left'] as const)
      expect(messageGroupOf(byKind(kind))).toBe('room:1');
  });

  it('puts the broadcast record in a group of its own and each shard record in its shard group', () => {
    const unsharded = byKind('broadcast', (e) => e.shard === undefined);

    expect(messageGroupOf(unsharded)).toBe('broadcast');
    expect(messageGroupOf({ ...unsharded, shard: 7 })).toBe('broadcast:7');
  });

  it('gives broadcasts groups no room id can produce', () => {
    expect(messageGroupOf(byKind('broadcast')).startsWith('room:')).toBe(false);
  });

  it("puts each slice record in its slice's group of the room, apart from the room's own", () => {
    const slice = byKind('slice', (e) => e.subject === undefined);

    expect(messageGroupOf(slice)).toBe('slice:1:42');
    expect(messageGroupOf({ ...slice, slice: 3 })).toBe('slice:1:3');
  });
});
