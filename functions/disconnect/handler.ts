/** `$disconnect` (best-effort, API Gateway does not retry it; a later 410 or TTL is the backstop). */
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/queue-deps.js';
import { wsConnectionRoute } from '../shared/runtime/ws-connection-route.js';
import { removeConnection } from '../shared/use-cases/remove-connection.js';

const deps = roomDeps();
const logger = createLogger('chat-disconnect');

export const handler = wsConnectionRoute('$disconnect', logger, async (event, context) => {
  const { connectionId } = event.requestContext;
  const deadline = Date.now() + Math.max(0, (context?.getRemainingTimeInMillis?.() ?? 10_000) - 2000);
  const left = await removeConnection(deps, { connectionId, reason: 'disconnect', deadline });
  return { message: 'disconnected', fields: { rooms: left.map((e) => e.roomId) } };
});
