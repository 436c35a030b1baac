/** The room events queue's adapters, for the functions that queue (see room-deps.ts). */
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRoomEventPublisher } from '../adapters/sqs-room-event-publisher.js';
import { queueConfig } from './config.js';
import { REQUEST_HANDLER, tableDeps } from './room-deps.js';

export function sqsClient(): SQSClient {
  return new SQSClient({ requestHandler: REQUEST_HANDLER });
}

/** What the room routes use: the table's stores and the room events queue. */
export function roomDeps() {
  const { queueUrl } = queueConfig();
  return { ...tableDeps(), events: new SqsRoomEventPublisher(sqsClient(), queueUrl) };
}
