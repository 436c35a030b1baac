/** `$disconnect` (best-effort, API Gateway does not retry it; TTL is the backstop). */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/room-deps.js';
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
  try {
    const memberships = await removeConnection(deps, { connectionId, reason: 'disconnect' });
    log.info('disconnected', { rooms: memberships.map((m) => m.roomId) });
    return { statusCode: 200 };
  } catch (error) {
    log.error('failed', { error });
    return { statusCode: 500 };
  }
};
