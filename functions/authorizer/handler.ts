/**
 * `$connect` REQUEST authorizer. API Gateway answers 401 itself when the `Auth` query
 * parameter is missing (it is the identity source); a wrong token gets a Deny (403). The
 * role travels in the policy context to `$connect`.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { authConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { authorize } from '../shared/use-cases/authorize.js';

const tokens = authConfig();
const logger = createLogger('chat-authorizer');

export const handler = async (
  event: APIGatewayRequestAuthorizerEvent,
  context?: Context,
): Promise<APIGatewayAuthorizerResult> => {
  logger.addContext(context);
  const role = authorize(tokens, event.queryStringParameters?.Auth);
  logger.info(role ? 'allow' : 'deny', {
    route: '$connect',
    role,
    apiRequestId: event.requestContext.requestId,
  });
  return {
    principalId: role ?? 'anonymous',
    policyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Action: 'execute-api:Invoke', Effect: role ? 'Allow' : 'Deny', Resource: event.methodArn },
      ],
    },
    ...(role ? { context: { role } } : {}),
  };
};
