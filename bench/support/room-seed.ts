/**
 * A room as the fanout finds it after its members entered, written straight into the table
 * (entering 100,000 members one by one would post ~5·10⁹ joined notices): each member on the
 * roster and in its slice, the room's size on its logmark, and, when asked, each member's
 * connection, entry and nickname too (what the routes read when a member sends).
 */
import {
  connectionItem,
  entryItem,
  type Item,
  key,
  memberItem,
  nicknameItem,
  shardOf,
  sliceCount,
  sliceMemberItem,
} from '../../functions/shared/adapters/dynamodb/table-layout';
import { fromIdOf } from '../../functions/shared/domain/identity';
import { type RoomEvent, roomEvent } from '../../functions/shared/domain/room-events';

export interface SeededMember {
  connectionId: string;
  entryId: string;
  nickname: string;
  fromId: string;
}

export const memberOf = (roomId: string, i: number, connectionId = `${roomId}-c${i}=`): SeededMember => ({
  connectionId,
  entryId: `e-${roomId}-${i}`,
  nickname: `user${i}`,
  fromId: fromIdOf({}, connectionId),
});

export interface RoomSeedOptions {
  /** Slices of the roster (the fanout's FANOUT_SLICES). */
  slices: number;
  /** Every member also gets its connection, entry and nickname (what the routes read). */
  routeSide?: boolean;
  /** Real connections (already registered) that are the first members, with entries and nicknames. */
  senders?: string[];
  /** Mark the room as delivered in slices already (as its first message past the slice size would). */
  sliced?: boolean;
}

/** The items of a room of `members` (joined before seq 1), for BatchWriteItem. */
export function* roomItems(roomId: string, members: number, options: RoomSeedOptions): Generator<Item> {
  const ttl = Math.floor(Date.now() / 1000) + 3 * 60 * 60;
  const senders = options.senders ?? [];
  const counts = new Map<number, number>();
  for (let i = 0; i < members; i++) {
    const m = memberOf(roomId, i, senders[i]);
    const slice = shardOf(m.connectionId, options.slices);
    counts.set(slice, (counts.get(slice) ?? 0) + 1);
    const member = { connectionId: m.connectionId, entryId: m.entryId, nickname: m.nickname, joinedSeq: 0 };
    yield memberItem(roomId, member, ttl);
    yield sliceMemberItem(roomId, slice, member, ttl);
    if (options.routeSide && i >= senders.length) {
      yield connectionItem(
        { connectionId: m.connectionId, role: 'user', principalId: 'user', connectedAt: Date.now() },
        ttl,
      );
    }
    if (options.routeSide || i < senders.length) {
      yield entryItem({ ...m, roomId, state: 'active', updatedAt: Date.now() }, ttl);
      yield nicknameItem({ ...m, roomId }, ttl);
    }
  }
  yield sizeItem(roomId, members, counts, options.sliced ?? false);
}

/** The room's logmark with its size (members in all and per slice), and whether it is sliced. */
function sizeItem(roomId: string, members: number, counts: Map<number, number>, sliced: boolean): Item {
  const item: Item = {
    ...key.logMark(roomId),
    members: { N: String(members) },
    ...(sliced ? { sliced: { BOOL: true } } : {}),
  };
  for (const [slice, count] of counts) item[sliceCount(slice)] = { N: String(count) };
  return item;
}

/** A message of member `i` of the room, as sendmessage queues it. */
export function messageFrom(roomId: string, i: number, text = 'Hei kaikki!'): RoomEvent {
  const m = memberOf(roomId, i);
  return roomEvent({
    kind: 'message',
    roomId,
    connectionId: m.connectionId,
    entryId: m.entryId,
    from: m.nickname,
    fromId: m.fromId,
    message: text,
  });
}
