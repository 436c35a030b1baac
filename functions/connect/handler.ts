/** `$connect`: records the (already authorized) connection and its role. Non-2xx refuses the handshake. */
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

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { authorizer?: { role?: string; principalId?: string; name?: string } };
};

export const handler = async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { connectionId, connectedAt, authorizer } = event.requestContext as ConnectEvent['requestContext'] & {
    connectedAt?: number;
  };
  const role: Role = authorizer?.role === 'admin' ? 'admin' : 'user';
  const log = logger.child({ route: '$connect', connectionId });
  try {
    await connect(
      { store },
      {
        connectionId,
        role,
        principalId: authorizer?.principalId ?? role,
        connectedAt: connectedAt ?? Date.now(),
        ...(authorizer?.name ? { displayName: authorizer.name } : {}),
      },
    );
    log.info('connected', { role });
    return { statusCode: 200 };
  } catch (error) {
    log.error('failed', { error });
    return { statusCode: 500 };
  }
};
