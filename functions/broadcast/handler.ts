/** `broadcast` (admins only): {"action":"broadcast","message":"Huoltokatko klo 18"} */
import { BroadcastBody, validate } from '../shared/domain/protocol.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/queue-deps.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';
import { broadcast } from '../shared/use-cases/broadcast.js';

const deps = roomDeps();

export const handler = wsRoute(
  'broadcast',
  createLogger('chat-broadcast'),
  async ({ connectionId, frame, deadline }) => {
    const { message } = validate(BroadcastBody, frame);
    await broadcast(deps, { connectionId, message, deadline });
    return undefined;
  },
);
