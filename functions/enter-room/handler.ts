/** `enterroom`: {"action":"enterroom","roomId":"1","nickname":"Mikki","since":42} (since: resume) */
import { fromIdOf } from '../shared/domain/identity.js';
import { EnterRoomBody, resolveNickname, validate } from '../shared/domain/protocol.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/queue-deps.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';
import { enterRoom } from '../shared/use-cases/enter-room.js';

const deps = roomDeps();

export const handler = wsRoute(
  'enterroom',
  createLogger('chat-enterroom'),
  async ({ connectionId, frame, identity, deadline }) => {
    const { roomId, nickname, since } = validate(EnterRoomBody, frame);
    await enterRoom(deps, {
      connectionId,
      roomId,
      nickname: resolveNickname(nickname, identity.name),
      fromId: fromIdOf(identity, connectionId),
      since,
      deadline,
    });
    return { roomId };
  },
);
