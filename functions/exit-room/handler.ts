/** `exitroom`: {"action":"exitroom","roomId":"1"} (roomId optional when in exactly one room) */
import { ExitRoomBody, validate } from '../shared/domain/protocol.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/queue-deps.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';
import { exitRoom } from '../shared/use-cases/exit-room.js';

const deps = roomDeps();

export const handler = wsRoute(
  'exitroom',
  createLogger('chat-exitroom'),
  async ({ connectionId, frame, deadline }) => {
    const { roomId } = validate(ExitRoomBody, frame);
    const entry = await exitRoom(deps, { connectionId, roomId, deadline });
    return { roomId: entry.roomId };
  },
);
