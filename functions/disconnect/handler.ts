/** `$disconnect` (best-effort, API Gateway does not retry it; a later 410 or TTL is the backstop). */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/queue-deps.js';
import { removeConnection } from '../shared/use-cases/remove-connection.js';

const deps = roomDeps();
const logger = createLogger('chat-disconnect');

export const handler = async (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Context,
): Promise<APIGatewayProxyResultV2> => {
  logger.addContext(context);
  const { connectionId } = event.requestContext;
  const log = logger.child({ route: '$disconnect', connectionId });
  const deadline = Date.now() + Math.max(0, (context?.getRemainingTimeInMillis?.() ?? 10_000) - 2000);
  try {
    const left = await removeConnection(deps, { connectionId, reason: 'disconnect', deadline });
    log.info('disconnected', { rooms: left.map((e) => e.roomId) });
    return { statusCode: 200 };
  } catch (error) {
    log.error('failed', { error });
    return { statusCode: 500 };
  }
};
