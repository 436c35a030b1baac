/** `history`: {"action":"history","roomId":"1","before":120,"limit":50} (before, limit optional) */
import { ApiGatewayNotifier, managementApiClient } from '../shared/adapters/api-gateway-notifier.js';
import { HistoryBody, validate } from '../shared/domain/protocol.js';
import { historyConnectionsConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { dynamoDbClient, roomLog, tableDeps } from '../shared/runtime/room-deps.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';
import { readHistory } from '../shared/use-cases/read-history.js';

const client = dynamoDbClient();
const deps = {
  ...tableDeps(client),
  log: roomLog(client),
  notifier: new ApiGatewayNotifier(managementApiClient(historyConnectionsConfig().connectionsUrl, 4)),
};

export const handler = wsRoute('history', createLogger('chat-history'), async ({ connectionId, frame }) => {
  const { roomId, before, limit } = validate(HistoryBody, frame);
  await readHistory(deps, { connectionId, roomId, before, limit });
  return { roomId };
});
