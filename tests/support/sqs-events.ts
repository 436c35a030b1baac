/**
 * Builders for the SQS FIFO events the fanout's event source mapping delivers, and for
 * room events (the queue's versioned contract) as fixtures.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import {
  type EntryEvent,
  entryEventId,
  type LeaveReason,
  messageGroupOf,
  ROOM_EVENT_VERSION,
  type RoomEvent,
  type RoomEventInput,
} from '../../functions/shared/domain/room-events';
import type { NewEntry } from '../../functions/shared/ports';

export const QUEUE_ARN = 'arn:aws:sqs:eu-north-1:123456789012:chat-room-events.fifo';

let sequence = 0;

/** A room event with a fresh id, or a fixed one when given. */
export function roomEventFixture(input: RoomEventInput, meta: { id?: string; at?: string } = {}): RoomEvent {
  return {
    ...input,
    v: ROOM_EVENT_VERSION,
    id: meta.id ?? randomUUID(),
    at: meta.at ?? new Date().toISOString(),
  } as RoomEvent;
}

/** An entry's `joined` as enterroom queues it (its id derived from the entry). */
export function joinedOf(entry: NewEntry, options: { since?: number; at?: string } = {}): EntryEvent {
  const { roomId, connectionId, entryId, nickname, fromId } = entry;
  return {
    v: ROOM_EVENT_VERSION,
    id: entryEventId('joined', entryId),
    at: options.at ?? new Date().toISOString(),
    kind: 'joined',
    roomId,
    connectionId,
    entryId,
    nickname,
    fromId,
    ...(options.since === undefined ? {} : { since: options.since }),
  };
}

/** A `message` of an entry as sendmessage queues it (from and fromId are the entry's). */
export function messageOf(
  entry: NewEntry,
  message = 'Hei',
  options: { id?: string; at?: string } = {},
): EntryEvent {
  const { roomId, connectionId, entryId, nickname, fromId } = entry;
  return {
    v: ROOM_EVENT_VERSION,
    id: options.id ?? randomUUID(),
    at: options.at ?? new Date().toISOString(),
    kind: 'message',
    roomId,
    connectionId,
    entryId,
    from: nickname,
    fromId,
    message,
  };
}

/** An entry's `left` as exitroom, $disconnect or the fanout's 410 pruning queue it. */
export function leftOf(
  entry: NewEntry,
  reason: LeaveReason = 'exit',
  options: { at?: string } = {},
): EntryEvent {
  const { roomId, connectionId, entryId, nickname } = entry;
  return {
    v: ROOM_EVENT_VERSION,
    id: entryEventId('left', entryId),
    at: options.at ?? new Date().toISOString(),
    kind: 'left',
    roomId,
    connectionId,
    entryId,
    nickname,
    reason,
  };
}

export interface FifoRecordOptions {
  messageId?: string;
  groupId?: string;
  receiveCount?: number;
  deduplicationId?: string;
}

/** One SQS FIFO record whose body is `body` (a room event is JSON-encoded). */
export function sqsFifoRecord(body: string | RoomEvent, options: FifoRecordOptions = {}): SQSRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const groupId = options.groupId ?? (typeof body === 'string' ? 'room:unknown' : messageGroupOf(body));
  sequence += 1;
  const now = String(Date.now());
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `AQEB${randomUUID().replace(/-/g, '')}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'AROAEXAMPLE:chat-sendmessage',
      ApproximateFirstReceiveTimestamp: now,
      SequenceNumber: `188800000000000000${String(sequence).padStart(4, '0')}`,
      MessageGroupId: groupId,
      MessageDeduplicationId: options.deduplicationId ?? (typeof body === 'string' ? sha256(text) : body.id),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'eu-north-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** What the event source mapping would hand the fanout for messages received from a (local) queue. */
export function sqsRecordFromMessage(message: Message): SQSRecord {
  const body = message.Body ?? '';
  return sqsFifoRecord(body, {
    messageId: message.MessageId ?? randomUUID(),
    groupId: message.Attributes?.MessageGroupId ?? 'unknown',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
    deduplicationId: message.Attributes?.MessageDeduplicationId ?? sha256(body),
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
