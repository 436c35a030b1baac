/**
 * `$connect`: records the (already authorized) connection with the identity the authorizer
 * established: its role, and in jwt mode the user's `sub` and display name. Only the
 * authorizer's context is trusted (API Gateway sets it; a client cannot). Non-2xx refuses the
 * handshake.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { DynamoDbConnectionStore } from '../shared/adapters/dynamodb-connection-store.js';
import type { Role } from '../shared/ports.js';
import { tableConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { connect } from '../shared/use-cases/connect.js';

const { tableName } = tableConfig();
const store = new DynamoDbConnectionStore(new DynamoDBClient({}), tableName);
const logger = createLogger('chat-connect');

type AuthorizerContext = { role?: unknown; principalId?: unknown; sub?: unknown; displayName?: unknown };
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { authorizer?: AuthorizerContext; connectedAt?: number };
};

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

export const handler = async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, connectedAt, authorizer } = event.requestContext;
  const role: Role = authorizer?.role === 'admin' ? 'admin' : 'user';
  const sub = text(authorizer?.sub);
  const displayName = text(authorizer?.displayName);
  const log = logger.child({ route: '$connect', connectionId });
  try {
    await connect(
      { store },
      {
        connectionId,
        role,
        principalId: text(authorizer?.principalId) ?? role,
        connectedAt: connectedAt ?? Date.now(),
        ...(sub ? { sub } : {}),
        ...(displayName ? { displayName } : {}),
      },
    );
    log.info('connected', { role, ...(sub ? { sub } : {}) });
    return { statusCode: 200 };
  } catch (error) {
    log.error('failed', { error });
    return { statusCode: 500 };
  }
};
