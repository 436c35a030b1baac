/**
 * Fanout: consumes room events from the FIFO queue and posts them to every recipient via
 * the API Gateway Management API. Returns partial batch failures (FIFO group rule); a record
 * failing on its last attempt is parked in the dead-letter queue so its group flows on.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ApiGatewayNotifier, managementApiClient } from '../shared/adapters/api-gateway-notifier.js';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { parkOnLastAttempt, processFifoBatch } from '../shared/domain/fifo-batch.js';
import { parseRoomEvent } from '../shared/domain/room-events.js';
import { fanoutConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/room-deps.js';
import { deliverRoomEvent } from '../shared/use-cases/deliver-room-event.js';

const config = fanoutConfig();
const deps = {
  ...roomDeps(),
  notifier: new ApiGatewayNotifier(managementApiClient(config.connectionsUrl, config.concurrency)),
  concurrency: config.concurrency,
};
const deadLetters = new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl);
const logger = createLogger('chat-fanout');

type FanoutRecord = SQSRecord & { groupId: string; receiveCount: number };

async function deliver(record: FanoutRecord): Promise<void> {
  const started = Date.now();
  const roomEvent = parseRoomEvent(record.body);
  const report = await deliverRoomEvent(deps, roomEvent);
  logger.info('delivered', {
    eventId: roomEvent.id,
    kind: roomEvent.kind,
    roomId: 'roomId' in roomEvent ? roomEvent.roomId : undefined,
    delivered: report.delivered,
    gone: report.gone.length,
    receiveCount: record.receiveCount,
    durationMs: Date.now() - started,
  });
}

async function park(record: FanoutRecord, error: unknown): Promise<void> {
  await deadLetters.park(record, error);
  logger.error('parked in the dead-letter queue', {
    messageId: record.messageId,
    groupId: record.groupId,
    receiveCount: record.receiveCount,
    error,
  });
}

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const records = event.Records.map((r) => ({
    ...r,
    groupId: r.attributes.MessageGroupId ?? r.messageId,
    receiveCount: Number(r.attributes.ApproximateReceiveCount) || 1,
  }));
  return processFifoBatch<FanoutRecord>(
    records,
    parkOnLastAttempt(deliver, park, config.maxReceiveCount),
    (record, error) =>
      logger.error('record failed', {
        messageId: record.messageId,
        groupId: record.groupId,
        receiveCount: record.receiveCount,
        error,
      }),
  );
};
