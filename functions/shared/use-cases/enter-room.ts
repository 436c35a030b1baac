import { roomEvent } from '../domain/room-events.js';
import { MAX_LISTED_MEMBERS } from '../domain/rules.js';
import type { ConnectionStore, RoomEventPublisher } from '../ports.js';

export interface EnterRoomInput {
  connectionId: string;
  roomId: string;
  nickname: string;
}

/**
 * `enterroom`: joins the room under a nickname unique in it, then queues one `joined` room
 * event; the fanout turns it into `entered` for the caller and `joined` for the others, in
 * the room's order. If the event cannot be queued the membership is undone, so the state
 * always matches what the caller is told.
 */
export async function enterRoom(
  deps: { store: ConnectionStore; events: RoomEventPublisher },
  input: EnterRoomInput,
): Promise<{ members: string[] }> {
  const members = await deps.store.enterRoom(input);
  try {
    await deps.events.publish(
      roomEvent({
        kind: 'joined',
        ...input,
        members: members.slice(0, MAX_LISTED_MEMBERS),
        memberCount: members.length,
      }),
    );
  } catch (error) {
    await deps.store.undoEnter(input).catch(() => undefined);
    throw error;
  }
  return { members };
}
