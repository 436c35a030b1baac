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

export const memberOf = (roomId: string, i: number): SeededMember => {
  const connectionId = `${roomId}-c${i}=`;
  return {
    connectionId,
    entryId: `e-${roomId}-${i}`,
    nickname: `user${i}`,
    fromId: fromIdOf({}, connectionId),
  };
};

/** The items of a room of `members` (joined before seq 1), for BatchWriteItem. */
export function* roomItems(
  roomId: string,
  members: number,
  options: { slices: number; routeSide?: boolean },
): Generator<Item> {
  const ttl = Math.floor(Date.now() / 1000) + 3 * 60 * 60;
  const counts = new Map<number, number>();
  for (let i = 0; i < members; i++) {
    const m = memberOf(roomId, i);
    const slice = shardOf(m.connectionId, options.slices);
    counts.set(slice, (counts.get(slice) ?? 0) + 1);
    const member = { connectionId: m.connectionId, entryId: m.entryId, nickname: m.nickname, joinedSeq: 0 };
    yield memberItem(roomId, member, ttl);
    yield sliceMemberItem(roomId, slice, member, ttl);
    if (options.routeSide) {
      yield connectionItem(
        { connectionId: m.connectionId, role: 'user', principalId: 'user', connectedAt: Date.now() },
        ttl,
      );
      yield entryItem({ ...m, roomId, state: 'active', updatedAt: Date.now() }, ttl);
      yield nicknameItem({ ...m, roomId }, ttl);
    }
  }
  yield sizeItem(roomId, members, counts);
}

/** The room's logmark with its size (members in all and per slice). */
function sizeItem(roomId: string, members: number, counts: Map<number, number>): Item {
  const item: Item = { ...key.logMark(roomId), members: { N: String(members) } };
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
