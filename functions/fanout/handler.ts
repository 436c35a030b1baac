/**
 * Fanout: consumes room events from the FIFO queue and posts them to every recipient via
 * the API Gateway Management API. Returns partial batch failures (FIFO group rule).
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ApiGatewayNotifier, managementApiClient } from '../shared/adapters/api-gateway-notifier.js';
import { processFifoBatch } from '../shared/domain/fifo-batch.js';
import { parseRoomEvent } from '../shared/domain/room-events.js';
import { fanoutConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/room-deps.js';
import { deliverRoomEvent } from '../shared/use-cases/deliver-room-event.js';

const { connectionsUrl, concurrency } = fanoutConfig();
const deps = {
  ...roomDeps(),
  notifier: new ApiGatewayNotifier(managementApiClient(connectionsUrl, concurrency)),
  concurrency,
};
const logger = createLogger('chat-fanout');

type FifoSqsRecord = SQSRecord & { groupId: string };

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const records = event.Records.map((r) => ({ ...r, groupId: r.attributes.MessageGroupId ?? r.messageId }));
  return processFifoBatch<FifoSqsRecord>(
    records,
    async (record) => {
      const started = Date.now();
      const roomEvent = parseRoomEvent(record.body);
      const report = await deliverRoomEvent(deps, roomEvent);
      logger.info('delivered', {
        eventId: roomEvent.id,
        kind: roomEvent.kind,
        roomId: 'roomId' in roomEvent ? roomEvent.roomId : undefined,
        delivered: report.delivered,
        gone: report.gone.length,
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
        durationMs: Date.now() - started,
      });
    },
    (record, error) =>
      logger.error('record failed', {
        messageId: record.messageId,
        groupId: record.groupId,
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
        error,
      }),
  );
};
