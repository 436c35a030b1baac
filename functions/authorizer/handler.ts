/**
 * `$connect` REQUEST authorizer. API Gateway answers 401 itself when the `Auth` query
 * parameter is missing (it is the identity source); anything the authenticator refuses gets a
 * Deny (403). Token mode: the shared chat or admin token. jwt mode: a JWT from the configured
 * issuer (functions/shared/auth/). The role, and in jwt mode the user's `sub` and display
 * name (`name`), travel in the policy context to `$connect` and every route.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { createAuthenticator } from '../shared/auth/authenticator.js';
import { authConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import type { Authenticator } from '../shared/use-cases/authorize.js';

const config = authConfig();
const logger = createLogger('chat-authorizer');

/** Built at cold start; if that fails (e.g. Secrets Manager unreachable) the next connect tries again. */
let authenticator: Promise<Authenticator> = start();
function start(): Promise<Authenticator> {
  const building = createAuthenticator(config);
  building.catch(() => undefined); // awaited (and reported) by the handler
  return building;
}

export const handler = async (
  event: APIGatewayRequestAuthorizerEvent,
  context?: Context,
): Promise<APIGatewayAuthorizerResult> => {
  logger.addContext(context);
  const apiRequestId = event.requestContext.requestId;
  let auth: Authenticator;
  try {
    auth = await authenticator;
  } catch (error) {
    authenticator = start();
    logger.error('authenticator unavailable', { route: '$connect', apiRequestId, error });
    throw error;
  }
  const result = await auth.authenticate(event.queryStringParameters?.Auth);
  if (result.ok) {
    const { role, sub } = result.identity;
    logger.info('allow', {
      route: '$connect',
      mode: config.mode,
      role,
      ...(sub ? { sub } : {}),
      apiRequestId,
    });
  } else {
    const log = result.reason === 'keys_unavailable' ? logger.error : logger.info;
    log('deny', { route: '$connect', mode: config.mode, reason: result.reason, apiRequestId });
  }
  const identity = result.ok ? result.identity : undefined;
  return {
    principalId: identity?.principalId ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Action: 'execute-api:Invoke', Effect: identity ? 'Allow' : 'Deny', Resource: event.methodArn },
      ],
    },
    ...(identity
      ? {
          context: {
            role: identity.role,
            ...(identity.sub ? { sub: identity.sub } : {}),
            ...(identity.name ? { name: identity.name } : {}),
          },
        }
      : {}),
  };
};
