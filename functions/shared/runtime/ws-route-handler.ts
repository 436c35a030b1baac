/**
 * The edge for WebSocket message routes: parses the frame, runs the route, and maps the
 * outcome to the Lambda proxy result. Routes are two-way (route response `$default`), so a
 * returned `body` reaches the caller: on failure that is one `error` event with a stable
 * code, never a stack or an SDK message. One log line per invocation, and its metrics
 * (docs/operations.md): MessagesAccepted {Route}, MessagesRejected {Route, Code},
 * RouteErrors {Route}.
 */
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import { parseJsonObject, serverEvent } from '../domain/protocol.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';

export interface RouteRequest {
  connectionId: string;
  /** The frame as a JSON object (the route key was selected from its `action`). */
  frame: Record<string, unknown>;
  event: APIGatewayProxyWebsocketEventV2;
}

/** What the route did, for the log line (e.g. the room it acted on). */
export type RouteOutcome = { roomId?: string } | undefined;

export type WsHandler = (
  event: APIGatewayProxyWebsocketEventV2,
  context?: Context,
) => Promise<APIGatewayProxyResultV2>;

const STATUS: Partial<Record<ErrorCode, number>> = { forbidden: 403, rate_limited: 429, internal: 500 };

export function errorReply(code: ErrorCode, message: string, action?: string) {
  return serverEvent({ type: 'error', code, message, ...(action ? { action } : {}) });
}

export function wsRoute(
  route: string,
  logger: Logger,
  run: (request: RouteRequest) => Promise<RouteOutcome | undefined>,
  metrics: Metrics = createMetrics({ service: `chat-${route.replace('$', '')}` }),
): WsHandler {
  const dimensions = { Route: route };
  return async (event, context) => {
    const started = Date.now();
    const connectionId = event.requestContext.connectionId;
    logger.addContext(context);
    const log = logger.child({ route, connectionId, apiRequestId: event.requestContext.requestId });
    let action: string | undefined;
    try {
      const frame = parseJsonObject(event.body);
      action = typeof frame.action === 'string' ? frame.action.slice(0, 64) : undefined;
      const outcome = await run({ connectionId, frame, event });
      log.info('ok', { ...outcome, durationMs: Date.now() - started });
      metrics.count('MessagesAccepted', 1, dimensions);
      return { statusCode: 200 };
    } catch (error) {
      const durationMs = Date.now() - started;
      if (error instanceof ChatError && error.code !== 'internal') {
        log.info('rejected', { code: error.code, reason: error.message, durationMs });
        metrics.count('MessagesRejected', 1, { ...dimensions, Code: error.code });
        return {
          statusCode: STATUS[error.code] ?? 400,
          body: JSON.stringify(errorReply(error.code, error.message, action)),
        };
      }
      log.error('failed', { error, durationMs });
      metrics.count('RouteErrors', 1, dimensions);
      const message =
        error instanceof ChatError ? error.message : 'Something went wrong on our side; please try again.';
      return { statusCode: 500, body: JSON.stringify(errorReply('internal', message, action)) };
    } finally {
      metrics.flush(context);
    }
  };
}
