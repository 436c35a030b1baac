/**
 * Fanout: consumes room events from the FIFO queue and posts them to every recipient via
 * the API Gateway Management API. Returns partial batch failures (FIFO group rule); a record
 * failing on its last attempt is parked in the dead-letter queue so its group flows on.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ApiGatewayNotifier, managementApiClient } from '../shared/adapters/api-gateway-notifier.js';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { parkOnLastAttempt, processFifoBatch } from '../shared/domain/fifo-batch.js';
import { parseRoomEvent } from '../shared/domain/room-events.js';
import { fanoutConfig } from '../shared/runtime/config.js';
import { createLogger } from '../shared/runtime/logger.js';
import { createMetrics } from '../shared/runtime/metrics.js';
import { roomDeps } from '../shared/runtime/room-deps.js';
import {
  DeliveryFailedError,
  type DeliveryReport,
  deliverRoomEvent,
} from '../shared/use-cases/deliver-room-event.js';

const config = fanoutConfig();
const deps = {
  ...roomDeps(),
  notifier: new ApiGatewayNotifier(managementApiClient(config.connectionsUrl, config.concurrency)),
  concurrency: config.concurrency,
};
const deadLetters = new SqsDeadLetterQueue(new SQSClient({}), config.deadLetterQueueUrl);
const logger = createLogger('chat-fanout');
const metrics = createMetrics({ service: 'chat-fanout' });

/** The fanout's metrics (docs/operations.md), from one record's delivery report. */
function countDeliveries(report: DeliveryReport, started: number, acceptedAt?: string): void {
  metrics.count('Deliveries', report.delivered);
  metrics.count('GoneConnections', report.gone.length);
  metrics.count('FailedPosts', report.failed);
  metrics.sample('RoomSize', report.delivered + report.gone.length + report.failed, 'Count');
  metrics.timing('FanoutDuration', Date.now() - started);
  // Delivery lag: from the route accepting the event (its `at`) to the last post.
  const accepted = acceptedAt ? Date.parse(acceptedAt) : Number.NaN;
  if (report.failed === 0 && Number.isFinite(accepted)) metrics.timing('DeliveryLag', Date.now() - accepted);
}

type FanoutRecord = SQSRecord & { groupId: string; receiveCount: number };

async function deliver(record: FanoutRecord): Promise<void> {
  const started = Date.now();
  if (record.receiveCount > 1) metrics.count('EventRetries');
  const roomEvent = parseRoomEvent(record.body);
  const report = await deliverRoomEvent(deps, roomEvent).catch((error: unknown) => {
    if (error instanceof DeliveryFailedError) countDeliveries(error.report, started);
    throw error;
  });
  countDeliveries(report, started, roomEvent.at);
  logger.info('delivered', {
    eventId: roomEvent.id,
    kind: roomEvent.kind,
    roomId: 'roomId' in roomEvent ? roomEvent.roomId : undefined,
    // The sender of a message, the subject of joined/left (docs/operations.md's "why did X not get Y").
    connectionId: 'connectionId' in roomEvent ? roomEvent.connectionId : undefined,
    delivered: report.delivered,
    gone: report.gone.length,
    ...(report.gone.length > 0 ? { goneConnections: report.gone.slice(0, 50).join(' ') } : {}),
    receiveCount: record.receiveCount,
    durationMs: Date.now() - started,
  });
}

async function park(record: FanoutRecord, error: unknown): Promise<void> {
  await deadLetters.park(record, error);
  metrics.count('ParkedEvents');
  logger.error('parked in the dead-letter queue', {
    messageId: record.messageId,
    groupId: record.groupId,
    receiveCount: record.receiveCount,
    error,
  });
}

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  const records = event.Records.map((r) => ({
    ...r,
    groupId: r.attributes.MessageGroupId ?? r.messageId,
    receiveCount: Number(r.attributes.ApproximateReceiveCount) || 1,
  }));
  try {
    return await processFifoBatch<FanoutRecord>(
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
  } finally {
    metrics.flush(context);
  }
};
