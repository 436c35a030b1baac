/**
 * The edge for `$connect` and `$disconnect`, which carry no frame and answer no body (message
 * routes have ws-route-handler.ts): runs the route, logs one line (the route's `message` and
 * `fields`, or `failed` with the error) and answers 200, or 500 when it throws (for
 * `$connect`, the handshake is refused). Type imports only, so `$connect` stays small.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import type { LogFields, Logger } from './logger.js';

export function wsConnectionRoute<E extends APIGatewayProxyWebsocketEventV2>(
  route: '$connect' | '$disconnect',
  logger: Logger,
  run: (event: E, context?: Context) => Promise<{ message: string; fields: LogFields }>,
): (event: E, context?: Context) => Promise<APIGatewayProxyResultV2> {
  return async (event, context) => {
    logger.addContext(context);
    const log = logger.child({ route, connectionId: event.requestContext.connectionId });
    try {
      const { message, fields } = await run(event, context);
      log.info(message, fields);
      return { statusCode: 200 };
    } catch (error) {
      log.error('failed', { error });
      return { statusCode: 500 };
    }
  };
}
