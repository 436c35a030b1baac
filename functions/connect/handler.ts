/** `$connect`: records the (already authorized) connection and its role. Non-2xx refuses the handshake. */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { DynamoDbConnectionRegistry } from '../shared/adapters/dynamodb/connection-registry.js';
import type { Role } from '../shared/ports.js';
import { tableConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { dynamoDbClient } from '../shared/runtime/room-deps.js';
import { wsConnectionRoute } from '../shared/runtime/ws-connection-route.js';
import { connect } from '../shared/use-cases/connect.js';

const registry = new DynamoDbConnectionRegistry(dynamoDbClient(), tableConfig().tableName);
const logger = createLogger('chat-connect');

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: { authorizer?: { role?: string; principalId?: string; name?: string } };
};

export const handler = wsConnectionRoute('$connect', logger, async (event: ConnectEvent) => {
  const { connectionId, connectedAt, authorizer } = event.requestContext as ConnectEvent['requestContext'] & {
    connectedAt?: number;
  };
  const role: Role = authorizer?.role === 'admin' ? 'admin' : 'user';
  await connect(
    { registry },
    {
      connectionId,
      role,
      principalId: authorizer?.principalId ?? role,
      connectedAt: connectedAt ?? Date.now(),
      ...(authorizer?.name ? { displayName: authorizer.name } : {}),
    },
  );
  return { message: 'connected', fields: { role } };
});
