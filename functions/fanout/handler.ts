/**
 * Fanout: consumes room events from the FIFO queue, logs each room's events in order (the
 * room's sequencer) and posts them to every recipient through the API Gateway Management
 * API. Returns partial batch failures (FIFO group rule). It never runs into its own timeout:
 * records are not started, and posts not begun, once the time left is short; what is left
 * comes back at once. A failed record comes back after a short backoff instead of the queue's
 * visibility timeout, and an event that failed MAX_ATTEMPTS times is parked in the
 * dead-letter queue so its room flows on.
 *
 * Large rooms in parallel: a room of more than FANOUT_SLICE_SIZE members (1,000) is not posted
 * to by its sequencer. It queues the logged event once per slice of the roster (FANOUT_SLICES,
 * a connection's slice is a hash of its id), each slice record in its own FIFO group, and
 * other fanout invocations deliver the slices at the same time, each to the members whose
 * window holds the event's seq (deliver-room-event.ts says why every promise of the room's log
 * holds). The records of one batch run at once when their groups differ, so the posts in
 * flight are bounded per invocation (FANOUT_CONCURRENCY), not per record.
 *
 * Posts go out signed by the fanout itself over keep-alive sockets (SignedConnectionsNotifier,
 * about a tenth of the SDK's CPU per post); FANOUT_NOTIFIER=sdk uses the SDK's management API
 * client instead, loaded only then.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SignedConnectionsNotifier } from '../shared/adapters/signed-connections-notifier.js';
import { SqsDeadLetterQueue } from '../shared/adapters/sqs-dead-letter-queue.js';
import { SqsRetrySchedule } from '../shared/adapters/sqs-retry-schedule.js';
import { SqsRoomEventPublisher } from '../shared/adapters/sqs-room-event-publisher.js';
import { parseRoomEvent } from '../shared/domain/room-events.js';
import type { ConnectionNotifier } from '../shared/ports.js';
import { Semaphore } from '../shared/runtime/concurrency.js';
import { fanoutConfig, queueConfig } from '../shared/runtime/config.js';
import { CountedFailure, parkAfterFailures, processFifoBatch } from '../shared/runtime/fifo-batch.js';
import { createLogger } from '../shared/runtime/logger.js';
import { createMetrics } from '../shared/runtime/metrics.js';
import { sqsClient } from '../shared/runtime/queue-deps.js';
import { dynamoDbClient, failureCounter, roomLog, tableDeps } from '../shared/runtime/room-deps.js';
import {
  DeadlineReachedError,
  DeliveryFailedError,
  type DeliveryReport,
  type FanoutDeps,
  handleRoomEvent,
} from '../shared/use-cases/deliver-room-event.js';

/**
 * Posts stop starting this long before the timeout (an in-flight post takes ≤ 5 s, then 410
 * pruning): 8 s of the 30 s timeout, proportionally less for a shorter one.
 */
const POSTING_MARGIN = { maxMs: 8000, share: 0.3 };
/** Records stop starting this long before the posting deadline. */
const START_MARGIN = { maxMs: 2000, share: 0.1 };
const margin = (remaining: number, m: { maxMs: number; share: number }) =>
  Math.min(m.maxMs, remaining * m.share);
/** Retry delay of a failed event: 1, 2, 4 … seconds after its nth failure, at most this. */
const MAX_BACKOFF_SECONDS = 30;

const config = fanoutConfig();
const { queueUrl } = queueConfig();
const ddb = dynamoDbClient();
const sqs = sqsClient();

/** The notifier FANOUT_NOTIFIER names; the SDK's client module is loaded only when asked for. */
function createNotifier(): ConnectionNotifier {
  if (config.notifier === 'sdk') {
    const { ApiGatewayNotifier, managementApiClient } =
      // A require, not an import: the SDK client's module loads (60-80 ms) only on this path.
      require('../shared/adapters/api-gateway-notifier.js') as typeof import('../shared/adapters/api-gateway-notifier.js');
    return new ApiGatewayNotifier(managementApiClient(config.connectionsUrl, config.concurrency));
  }
  return new SignedConnectionsNotifier({
    endpoint: config.connectionsUrl,
    region: config.region,
    // The SDK's default credential chain, as the DynamoDB client resolved it (refreshed before expiry).
    credentials: () => ddb.config.credentials(),
    connections: config.concurrency,
  });
}

const deps: FanoutDeps = {
  ...tableDeps(ddb),
  log: roomLog(ddb, { slices: config.slices }),
  events: new SqsRoomEventPublisher(sqs, queueUrl),
  notifier: createNotifier(),
  concurrency: config.concurrency,
  slots: new Semaphore(config.concurrency),
  sliceSize: config.sliceSize,
};
const failures = failureCounter(ddb);
const deadLetters = new SqsDeadLetterQueue(sqs, config.deadLetterQueueUrl);
const schedule = new SqsRetrySchedule(sqs, queueUrl);
const logger = createLogger('chat-fanout');
const metrics = createMetrics({ service: 'chat-fanout' });

/** The fanout's metrics (docs/operations.md), from one record's delivery report. */
function countDeliveries(report: DeliveryReport, started: number, acceptedAt?: string): void {
  metrics.count('Deliveries', report.delivered);
  metrics.count('GoneConnections', report.gone.length);
  metrics.count('FailedPosts', report.failed);
  // A sequencer that queued slice records posted nothing itself: each slice samples its part.
  if (report.slices === undefined) {
    metrics.sample('RoomSize', report.delivered + report.gone.length + report.failed, 'Count');
  }
  metrics.timing('FanoutDuration', Date.now() - started);
  // Delivery lag: from the route accepting the event (its `at`) to the last post.
  const accepted = acceptedAt ? Date.parse(acceptedAt) : Number.NaN;
  if (report.failed === 0 && Number.isFinite(accepted)) metrics.timing('DeliveryLag', Date.now() - accepted);
}

type FanoutRecord = SQSRecord & { groupId: string; receiveCount: number };

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  const remaining = context?.getRemainingTimeInMillis?.() ?? 30_000;
  const deadline = Date.now() + Math.max(0, remaining - margin(remaining, POSTING_MARGIN));
  const lastStart = deadline - margin(remaining, START_MARGIN);
  const records: FanoutRecord[] = event.Records.map((r) => ({
    ...r,
    groupId: r.attributes.MessageGroupId ?? r.messageId,
    receiveCount: Number(r.attributes.ApproximateReceiveCount) || 1,
  }));

  const deliver = async (record: FanoutRecord) => {
    const started = Date.now();
    if (record.receiveCount > 1) metrics.count('EventRetries');
    const roomEvent = parseRoomEvent(record.body);
    const report = await handleRoomEvent(deps, roomEvent, {
      deadline,
      redelivered: record.receiveCount > 1,
    }).catch((error: unknown) => {
      if (error instanceof DeliveryFailedError) countDeliveries(error.report, started);
      throw error;
    });
    countDeliveries(report, started, roomEvent.at);
    logger.info(report.dropped ? 'dropped' : 'delivered', {
      eventId: roomEvent.id,
      kind: roomEvent.kind,
      roomId: 'roomId' in roomEvent ? roomEvent.roomId : undefined,
      // The sender of a message, the subject of joined/left (docs/operations.md's "why did X not get Y").
      connectionId: 'connectionId' in roomEvent ? roomEvent.connectionId : undefined,
      seq: report.seq,
      reason: report.dropped,
      ...('slice' in roomEvent ? { slice: roomEvent.slice } : {}),
      ...(report.slices === undefined ? {} : { slices: report.slices }),
      delivered: report.delivered,
      gone: report.gone.length,
      ...(report.gone.length > 0 ? { goneConnections: report.gone.slice(0, 50).join(' ') } : {}),
      receiveCount: record.receiveCount,
      durationMs: Date.now() - started,
    });
  };

  try {
    const outcome = await processFifoBatch(
      records,
      parkAfterFailures(deliver, {
        maxAttempts: config.maxAttempts,
        countFailure: (record) => failures.recordFailure(record.groupId, record.messageId),
        park: async (record, error) => {
          await deadLetters.park(record, error);
          metrics.count('ParkedEvents');
          logger.error('parked in the dead-letter queue', {
            messageId: record.messageId,
            groupId: record.groupId,
            receiveCount: record.receiveCount,
            error,
          });
        },
        counts: (error) => !(error instanceof DeadlineReachedError),
      }),
      {
        canStart: () => Date.now() < lastStart,
        onFailure: (record, error) =>
          logger.error('record failed', {
            messageId: record.messageId,
            groupId: record.groupId,
            receiveCount: record.receiveCount,
            error: error instanceof CountedFailure ? error.original : error,
            failures: error instanceof CountedFailure ? error.failures : undefined,
          }),
      },
    );

    // Failed events come back after a short backoff; what was not started (out of time, or
    // behind a failed record in its group) at once: FIFO still holds a group's later records
    // back until the earlier ones are done.
    const retries = [
      ...outcome.failed.map(({ record, error }) => ({
        receiptHandle: record.receiptHandle,
        delaySeconds:
          error instanceof CountedFailure ? Math.min(MAX_BACKOFF_SECONDS, 2 ** (error.failures - 1)) : 0,
      })),
      ...outcome.notStarted.map((record) => ({ receiptHandle: record.receiptHandle, delaySeconds: 0 })),
    ];
    if (retries.length > 0) {
      const problems = await schedule.retryAfter(retries);
      if (problems.length > 0) logger.warn('could not shorten the retry of some records', { problems });
    }
    return { batchItemFailures: outcome.batchItemFailures };
  } finally {
    metrics.flush(context);
  }
};
