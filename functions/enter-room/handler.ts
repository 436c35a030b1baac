/** `enterroom`: {"action":"enterroom","roomId":"1","nickname":"Mikki"} */
import { EnterRoomBody, validate } from '../shared/domain/protocol.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/room-deps.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';
import { enterRoom } from '../shared/use-cases/enter-room.js';

const deps = roomDeps();

export const handler = wsRoute(
  'enterroom',
  createLogger('chat-enterroom'),
  async ({ connectionId, frame }) => {
    const { roomId, nickname } = validate(EnterRoomBody, frame);
    await enterRoom(deps, { connectionId, roomId, nickname });
    return { roomId };
  },
);
