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

/** Who is on the connection, as the `$connect` authorizer said (API Gateway passes it to every route). */
export interface Identity {
  role?: string;
  principalId?: string;
  /** The signed-in user (jwt mode). */
  sub?: string;
  /** A display name from the sign-in (jwt mode). */
  name?: string;
}

export interface RouteRequest {
  connectionId: string;
  /** The frame as a JSON object (the route key was selected from its `action`). */
  frame: Record<string, unknown>;
  event: APIGatewayProxyWebsocketEventV2;
  identity: Identity;
  /**
   * Epoch ms by which the route should have its answer: a little before the Lambda's own
   * timeout, so a publish that cannot be confirmed is settled (taken back) and answered.
   */
  deadline: number;
}

/** Time kept back from the Lambda's timeout to settle and answer. */
const ANSWER_MARGIN_MS = 2000;
/** The most a route spends retrying an unconfirmed publish. */
const MAX_ROUTE_BUDGET_MS = 6000;

function identityOf(event: APIGatewayProxyWebsocketEventV2): Identity {
  const authorizer = (event.requestContext as { authorizer?: Record<string, unknown> }).authorizer ?? {};
  const text = (key: string) =>
    typeof authorizer[key] === 'string' ? (authorizer[key] as string) : undefined;
  const identity: Identity = {};
  for (const key of ['role', 'principalId', 'sub', 'name'] as const) {
    const value = text(key);
    if (value) identity[key] = value;
  }
  return identity;
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
      const remaining = context?.getRemainingTimeInMillis?.() ?? 10_000;
      const deadline = started + Math.min(MAX_ROUTE_BUDGET_MS, Math.max(0, remaining - ANSWER_MARGIN_MS));
      const outcome = await run({ connectionId, frame, event, identity: identityOf(event), deadline });
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
