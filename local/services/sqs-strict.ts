/**
 * Where `local-aws-sqs` is kinder than SQS, and what the local SQS server does about it
 * (local/services/sqs-local.ts applies these rules before and after the emulator runs):
 *
 * - Message contents: SQS accepts only the characters #x9 | #xA | #xD | #x20-#xD7FF |
 *   #xE000-#xFFFD | #x10000-#x10FFFF in message bodies and attribute values and answers
 *   400 `InvalidMessageContents` otherwise (per entry in SendMessageBatch); the emulator
 *   passes U+FFFE, U+FFFF, control characters and lone surrogates through.
 * - Deduplication: SQS FIFO remembers a deduplication id for 5 minutes, also after its message
 *   was deleted; the emulator forgets it with the message, so a retried send (after an
 *   ambiguous answer) would be delivered twice where SQS delivers it once.
 * - Receive counts: the emulator's ChangeMessageVisibility(Batch) adds one to the message's
 *   ApproximateReceiveCount (SQS leaves it alone), which would dead-letter a record whose
 *   visibility the fanout shortened a receive early. `keepReceiveCountOnVisibilityChange`
 *   patches that.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createRequestHandler } from 'local-aws-sqs';

/** SQS's allowed characters (XML 1.0 Char); with the `u` flag a lone surrogate is a character of its own. */
const NOT_ALLOWED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ALLOWED_SET = '#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]';

/** The first character SQS would refuse in `text`, as SQS names it ('#xFFFE'), or undefined. */
export function refusedCharacter(text: string): string | undefined {
  const match = NOT_ALLOWED.exec(text);
  if (!match) return undefined;
  return `#x${(match[0].codePointAt(0) as number).toString(16).toUpperCase()}`;
}

interface AttributeValue {
  DataType?: unknown;
  StringValue?: unknown;
}

export interface SendEntry {
  Id?: unknown;
  MessageBody?: unknown;
  MessageAttributes?: Record<string, AttributeValue>;
  MessageSystemAttributes?: Record<string, AttributeValue>;
  MessageGroupId?: unknown;
  MessageDeduplicationId?: unknown;
}

/**
 * SQS's InvalidMessageContents message for an entry that holds a refused character, or
 * undefined when SQS would accept its contents. The body's wording is SQS's own; the
 * attribute variant follows it.
 */
export function invalidContents(entry: SendEntry): string | undefined {
  if (typeof entry.MessageBody === 'string') {
    const bad = refusedCharacter(entry.MessageBody);
    if (bad) {
      return `Invalid binary character '${bad}' was found in the message body, the set of allowed characters is ${ALLOWED_SET}.`;
    }
  }
  for (const attributes of [entry.MessageAttributes, entry.MessageSystemAttributes]) {
    for (const [name, value] of Object.entries(attributes ?? {})) {
      if (typeof value?.StringValue !== 'string') continue;
      const bad = refusedCharacter(value.StringValue);
      if (bad) {
        return `Invalid binary character '${bad}' was found in the value of message attribute '${name}', the set of allowed characters is ${ALLOWED_SET}.`;
      }
    }
  }
  return undefined;
}

/** How long SQS FIFO remembers a deduplication id. */
export const DEDUPLICATION_INTERVAL_MS = 5 * 60 * 1000;

export interface FifoQueueSettings {
  FifoQueue: boolean;
  ContentBasedDeduplication?: boolean;
  DeduplicationScope?: string;
}

/** What SQS answered for an accepted send (MessageId, SequenceNumber, attribute digests). */
export interface Accepted {
  MessageId: string;
  SequenceNumber?: string;
  MD5OfMessageAttributes?: string;
  MD5OfMessageSystemAttributes?: string;
}

/** The deduplication ids SQS FIFO still remembers, per queue, for DEDUPLICATION_INTERVAL_MS. */
export class DeduplicationWindow {
  private readonly seen = new Map<string, Accepted & { at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The key SQS deduplicates an entry on (undefined: not a FIFO send, or one SQS refuses anyway). */
  key(queueName: string, queue: FifoQueueSettings, entry: SendEntry): string | undefined {
    if (!queue.FifoQueue || typeof entry.MessageBody !== 'string') return undefined;
    const id =
      typeof entry.MessageDeduplicationId === 'string' && entry.MessageDeduplicationId !== ''
        ? entry.MessageDeduplicationId
        : queue.ContentBasedDeduplication
          ? createHash('sha256').update(entry.MessageBody).digest('hex')
          : undefined;
    if (id === undefined) return undefined;
    const group = queue.DeduplicationScope === 'messageGroup' ? String(entry.MessageGroupId ?? '') : '';
    return JSON.stringify([queueName, group, id]);
  }

  /** What SQS answered for the first send with this key, while SQS still remembers it. */
  recall(key: string): Accepted | undefined {
    this.forgetExpired();
    const hit = this.seen.get(key);
    if (!hit) return undefined;
    const { at: _at, ...accepted } = hit;
    return accepted;
  }

  remember(key: string, accepted: Accepted): void {
    this.forgetExpired();
    if (this.seen.has(key)) return;
    const { MessageId, SequenceNumber, MD5OfMessageAttributes, MD5OfMessageSystemAttributes } = accepted;
    const kept: Accepted = { MessageId };
    if (SequenceNumber) kept.SequenceNumber = SequenceNumber;
    if (MD5OfMessageAttributes) kept.MD5OfMessageAttributes = MD5OfMessageAttributes;
    if (MD5OfMessageSystemAttributes) kept.MD5OfMessageSystemAttributes = MD5OfMessageSystemAttributes;
    this.seen.set(key, { ...kept, at: this.now() });
  }

  private forgetExpired(): void {
    const cutoff = this.now() - DEDUPLICATION_INTERVAL_MS;
    // Insertion order is time order: stop at the first one still remembered.
    for (const [key, entry] of this.seen) {
      if (entry.at > cutoff) break;
      this.seen.delete(key);
    }
  }
}

interface EmulatorRecord {
  MessageId: string;
  attributes: Record<string, string>;
}

interface EmulatorQueueClass {
  createRecord(input: unknown): [EmulatorRecord, string | undefined];
  prototype: { changeVisibility(receiptHandle: string, visibilityTimeout: unknown): boolean };
  [patched]?: true;
}

const patched = Symbol('local-sqs-keeps-receive-count');

/** The message id inside one of the emulator's receipt handles (base64 of a uuid and a JSON object). */
export function messageIdOfReceiptHandle(receiptHandle: string): string | undefined {
  try {
    const text = Buffer.from(receiptHandle, 'base64').toString('utf8');
    const id = (JSON.parse(text.slice(text.indexOf('{'))) as { MessageId?: unknown }).MessageId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the emulator's ChangeMessageVisibility leave ApproximateReceiveCount as it was (as
 * SQS does). The emulator's Queue class is not exported: it is reached through a queue of a
 * throwaway service and patched once per process (the class is shared by every service).
 */
export function keepReceiveCountOnVisibilityChange(): void {
  const { service } = createRequestHandler({ port: 0, queues: [{ QueueName: 'local-probe' }] });
  const Queue = (service.Queues[0] as object).constructor as unknown as EmulatorQueueClass;
  service.resetAll();
  if (Queue[patched]) return;
  Queue[patched] = true;

  // Records by message id (weakly: a deleted message's record is garbage as in the emulator).
  const records = new Map<string, WeakRef<EmulatorRecord>>();
  const gone = new FinalizationRegistry<string>((id) => {
    if (records.get(id)?.deref() === undefined) records.delete(id);
  });
  const createRecord = Queue.createRecord;
  Queue.createRecord = function (this: unknown, input: unknown) {
    const created = createRecord.call(this, input);
    const [record] = created;
    records.set(record.MessageId, new WeakRef(record));
    gone.register(record, record.MessageId);
    return created;
  };
  const changeVisibility = Queue.prototype.changeVisibility;
  Queue.prototype.changeVisibility = function (this: unknown, receiptHandle, visibilityTimeout) {
    const id = messageIdOfReceiptHandle(receiptHandle);
    const record = id === undefined ? undefined : records.get(id)?.deref();
    const count = record?.attributes.ApproximateReceiveCount;
    const changed = changeVisibility.call(this, receiptHandle, visibilityTimeout);
    if (record && count !== undefined) record.attributes.ApproximateReceiveCount = count;
    return changed;
  };
}

/** One HTTP answer of the SQS JSON protocol. */
export interface SqsReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const SQS_JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

/**
 * An error as SQS sends it in its JSON protocol: `__type` com.amazonaws.sqs#<shape>, a
 * `message`, and the query-compatible code in `x-amzn-query-error` (`<code>;Sender|Receiver`),
 * which is what SDK v3 (awsQueryCompatible) names the error by.
 */
export function sqsJsonError(
  status: number,
  code: string,
  message: string,
  shape = code,
  fault: 'Sender' | 'Receiver' = status < 500 ? 'Sender' : 'Receiver',
): SqsReply {
  return {
    status,
    headers: {
      'content-type': SQS_JSON_CONTENT_TYPE,
      'x-amzn-requestid': randomUUID(),
      'x-amzn-query-error': `${code};${fault}`,
    },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${shape}`, message }),
  };
}
