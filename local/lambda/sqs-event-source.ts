/**
 * The SQS → Lambda event source mapping, emulated for a queue and a function of the
 * template: batches shaped as Lambda's SQSEvent, up to MaximumConcurrency at once, what
 * succeeded deleted, what failed left to come back until the redrive policy dead-letters it
 * (local/README.md, "SQS → fanout").
 *
 * FIFO order is kept here, because the emulator does not hold a group back: a group is in at
 * most one batch, and its later messages are held (in order of first receipt; the emulator's
 * SequenceNumbers are not monotonic) while earlier ones are in flight or waiting to come back
 * (local/README.md, "Deliberate differences"). With the in-process emulator it also learns of
 * ChangeMessageVisibility calls (QueueHints.onVisibilityChanged), so a record dead-lettered at
 * a shortened visibility releases its group at once.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { invocationLines, type LogSink } from '../invocation-log';
import type { SqsTriggerModel } from '../template/template-model';
import type { InvokeOutcome } from './sandboxes';

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  trigger: SqsTriggerModel;
  visibilityTimeoutSeconds: number;
  /** The queue's redrive policy maxReceiveCount (undefined: no dead-letter queue). */
  maxReceiveCount?: number;
  invoke(event: { Records: SQSRecord[] }): Promise<InvokeOutcome>;
  log: LogSink;
  /** Set when the queue lives in an in-process emulator (see QueueHints). */
  hints?: QueueHints;
}

/** A received message waiting in its group for its turn (in flight in SQS all the while). */
interface HeldMessage {
  message: Message;
  order: number;
  receivedAt: number;
}

/** A failed message, invisible until its visibility timeout ends: then it comes back or is dead-lettered. */
interface ReturningMessage {
  order: number;
  receiptHandle: string;
  /** When its visibility timeout ends (it is visible again, or dead-lettered). */
  expiresAt: number;
  deadLetter: boolean;
}

interface Group {
  held: Map<string, HeldMessage>;
  returning: Map<string, ReturningMessage>;
  inFlight: boolean;
}

/** Back-off between retries of a throttled batch: doubling from this, up to the maximum. */
const THROTTLE_BACKOFF_MS = 200;
const THROTTLE_BACKOFF_MAX_MS = 5000;
/** Messages held locally before polling pauses. */
const MAX_HELD = 2000;
/** How long after its visibility timeout a dead-lettered message no longer blocks its group. */
const DEAD_LETTER_GRACE_MS = 250;
/** Receives in flight at once (Lambda's SQS event source also starts with five pollers). */
const POLLERS = 5;
/**
 * How long an idle poller waits before looking again. With queue hints a send wakes the
 * pollers at once; the timer still catches messages back after their visibility timeout.
 */
const IDLE_POLL_MS = 50;

/** An SQS message as the Lambda event source mapping hands it to the function. */
export function sqsRecordOf(message: Message, queueArn: string): SQSRecord {
  const region = queueArn.split(':')[3] ?? 'us-east-1';
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType as string,
    };
  }
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? '',
    attributes: { ...(message.Attributes as SQSRecordAttributes) },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * What an in-process SQS emulator can tell the event source (local/services/sqs-local.ts),
 * standing in for long polling: the emulator's ReceiveMessage returns only once it has
 * MaxNumberOfMessages or ~40 ms have passed, so the pollers ask for exactly what is visible
 * and sleep until a send instead of polling.
 */
export interface QueueHints {
  visibleMessages(queueUrl: string): number | undefined;
  onMessagesSent(listener: () => void): () => void;
  /** Visibility changes SQS accepted (by anyone: the function shortens failed records' visibility). */
  onVisibilityChanged?(
    listener: (change: {
      queueUrl: string;
      receiptHandle: string;
      visibilityTimeoutSeconds: number;
      at: number;
    }) => void,
  ): () => void;
}

export class SqsEventSource {
  private readonly groups = new Map<string, Group>();
  private readonly orders = new Map<string, number>();
  private readonly batches = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly sleepers = new Set<() => void>();
  private nextOrder = 1;
  private inFlight = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private unsubscribe: (() => void)[] = [];
  /** Receipt handles of the records in running batches and of the returning ones → their message ids. */
  private readonly handles = new Map<string, string>();
  /** When a record in a running batch becomes visible again, if its visibility was changed meanwhile. */
  private readonly changedExpiry = new Map<string, number>();
  /** Messages asked for by receives in flight (so pollers do not ask for the same ones). */
  private claimed = 0;
  /** Receives are taken in the order they were sent: the emulator hands out older messages first. */
  private receipts: Promise<void> = Promise.resolve();

  constructor(private readonly options: SqsEventSourceOptions) {}

  start(): void {
    this.running = true;
    const { hints } = this.options;
    if (hints) this.unsubscribe.push(hints.onMessagesSent(() => this.wake()));
    const visibility = hints?.onVisibilityChanged?.((change) => {
      if (change.queueUrl === this.options.queueUrl) {
        this.visibilityChanged(change.receiptHandle, change.at + change.visibilityTimeoutSeconds * 1000);
      }
    });
    if (visibility) this.unsubscribe.push(visibility);
    // Without hints each empty receive costs a request, so one poller keeps idle traffic low.
    this.loops = Array.from({ length: this.options.hints ? POLLERS : 1 }, () => this.poll());
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.abort.abort();
    this.wake();
    await Promise.all(this.loops);
    while (this.batches.size > 0) await Promise.allSettled([...this.batches]);
  }

  /** Number of messages received and not yet deleted, dead-lettered or lost (for tests). */
  get outstanding(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.held.size + g.returning.size;
    return n + this.inFlight;
  }

  private wake(): void {
    for (const done of [...this.sleepers]) done();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private heldCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.held.size;
    return n;
  }

  /** How many messages to ask for: what is visible and not yet claimed (hints), else a full batch. */
  private wanted(): number {
    const { hints, queueUrl, trigger } = this.options;
    const max = Math.min(10, trigger.batchSize);
    const visible = hints?.visibleMessages(queueUrl);
    if (visible === undefined) return max;
    return Math.min(max, visible - this.claimed);
  }

  private async poll(): Promise<void> {
    const { sqs, queueUrl } = this.options;
    let lastError = '';
    while (this.running) {
      if (this.heldCount() >= MAX_HELD) {
        await this.pause(1000);
        continue;
      }
      const wanted = this.wanted();
      if (wanted <= 0) {
        // Nothing to receive: groups may still be due to go (a failed record dead-lettered).
        this.sweep(Date.now());
        this.pump();
        await this.pause(IDLE_POLL_MS);
        continue;
      }
      let release: () => void = () => undefined;
      const turn = this.receipts;
      this.receipts = new Promise((resolve) => {
        release = resolve;
      });
      this.claimed += wanted;
      let messages: Message[] = [];
      try {
        const response = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: wanted,
            // The emulator waits for a full batch on long polls, so poll short and often.
            WaitTimeSeconds: 0,
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = response.Messages ?? [];
        lastError = '';
      } catch (error) {
        this.claimed -= wanted;
        await turn;
        release();
        if (!this.running) break;
        const text = `${(error as Error).name}: ${(error as Error).message}`;
        if (text !== lastError) this.options.log(`event source: ReceiveMessage failed (${text}); retrying`);
        lastError = text;
        await this.pause(500);
        continue;
      }
      this.claimed -= wanted;
      await turn;
      const now = Date.now();
      for (const message of messages) this.receive(message, now);
      release();
      this.sweep(now);
      this.pump();
      if (messages.length === 0) await this.pause(IDLE_POLL_MS);
    }
  }

  private group(id: string): Group {
    let group = this.groups.get(id);
    if (!group) {
      group = { held: new Map(), returning: new Map(), inFlight: false };
      this.groups.set(id, group);
    }
    return group;
  }

  /** A record's visibility was changed: it comes back (or is dead-lettered) at `expiresAt`. */
  private visibilityChanged(receiptHandle: string, expiresAt: number): void {
    const id = this.handles.get(receiptHandle);
    if (id === undefined) return;
    for (const group of this.groups.values()) {
      const returning = group.returning.get(id);
      if (returning?.receiptHandle === receiptHandle) {
        returning.expiresAt = expiresAt;
        this.sweep(Date.now());
        this.pump();
        return;
      }
    }
    this.changedExpiry.set(receiptHandle, expiresAt);
  }

  private receive(message: Message, now: number): void {
    const id = message.MessageId as string;
    const group = this.group(message.Attributes?.MessageGroupId ?? id);
    const returning = group.returning.get(id);
    if (returning) this.handles.delete(returning.receiptHandle);
    group.returning.delete(id);
    let order = this.orders.get(id);
    if (order === undefined) {
      order = this.nextOrder++;
      this.orders.set(id, order);
    }
    group.held.set(id, { message, order, receivedAt: now });
  }

  /** Lets groups go once their failed messages were dead-lettered (or never came back). */
  private sweep(now: number): void {
    const lostAfterMs = Math.max(5000, this.options.visibilityTimeoutSeconds * 1000);
    for (const [groupId, group] of this.groups) {
      for (const [id, returning] of group.returning) {
        const dead = returning.deadLetter && now >= returning.expiresAt + DEAD_LETTER_GRACE_MS;
        const lost = now >= returning.expiresAt + lostAfterMs;
        if (!dead && !lost) continue;
        group.returning.delete(id);
        this.handles.delete(returning.receiptHandle);
        this.orders.delete(id);
        if (lost && !dead)
          this.options.log(`event source: ${id} (${groupId}) did not come back; releasing its group`);
      }
      if (group.held.size === 0 && group.returning.size === 0 && !group.inFlight) this.groups.delete(groupId);
    }
  }

  /** The group's held messages that may run now, in order (none while an earlier one is returning). */
  private ready(group: Group): HeldMessage[] {
    if (group.inFlight) return [];
    const firstReturning = Math.min(...[...group.returning.values()].map((a) => a.order));
    return [...group.held.values()].sort((a, b) => a.order - b.order).filter((h) => h.order < firstReturning);
  }

  private pump(): void {
    const { trigger } = this.options;
    const concurrency = trigger.maximumConcurrency ?? 1000;
    while (this.running && this.inFlight < concurrency) {
      const candidates = [...this.groups.values()]
        .map((group) => ({ group, items: this.ready(group) }))
        .filter((c) => c.items.length > 0)
        .sort((a, b) => (a.items[0]?.order ?? 0) - (b.items[0]?.order ?? 0));
      if (candidates.length === 0) return;
      const batch: { group: Group; held: HeldMessage }[] = [];
      for (const { group, items } of candidates) {
        const room = trigger.batchSize - batch.length;
        if (room <= 0) break;
        for (const held of items.slice(0, room)) {
          group.held.delete(held.message.MessageId as string);
          batch.push({ group, held });
        }
        group.inFlight = true;
      }
      this.inFlight++;
      const run = this.dispatch(batch).finally(() => {
        this.batches.delete(run);
        this.inFlight--;
        this.pump();
      });
      this.batches.add(run);
    }
  }

  /** Which records failed: all when the invocation failed or answered malformed batchItemFailures. */
  private failures(outcome: InvokeOutcome, ids: string[]): Set<string> {
    if (!outcome.ok) return new Set(ids);
    if (!this.options.trigger.reportBatchItemFailures) return new Set();
    const list = (outcome.result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
    if (list === undefined || list === null) return new Set();
    if (!Array.isArray(list)) return new Set(ids);
    const failed = list.map((f) => (f as { itemIdentifier?: unknown } | null)?.itemIdentifier);
    if (failed.some((id) => typeof id !== 'string' || !ids.includes(id))) return new Set(ids);
    return new Set(failed as string[]);
  }

  private async dispatch(batch: { group: Group; held: HeldMessage }[]): Promise<void> {
    const { trigger, maxReceiveCount } = this.options;
    const records = batch.map(({ held }) => sqsRecordOf(held.message, this.options.queueArn));
    const ids = records.map((r) => r.messageId);
    for (const r of records) this.handles.set(r.receiptHandle, r.messageId);
    const outcome = await this.invokeWithThrottleRetries(records, batch);
    const failed = this.failures(outcome, ids);
    const toDelete: { id: string; receiptHandle: string }[] = [];
    let deadLettered = 0;
    let sooner = 0;
    for (const { group, held } of batch) {
      const id = held.message.MessageId as string;
      const receiptHandle = held.message.ReceiptHandle as string;
      const changedExpiry = this.changedExpiry.get(receiptHandle);
      this.changedExpiry.delete(receiptHandle);
      if (!failed.has(id)) {
        this.handles.delete(receiptHandle);
        toDelete.push({ id, receiptHandle });
        this.orders.delete(id);
        continue;
      }
      if (changedExpiry !== undefined) sooner++;
      if (group.held.has(id)) {
        // Its visibility was cut short while the batch ran, and it has been received again already.
        this.handles.delete(receiptHandle);
        continue;
      }
      const receives = Number(held.message.Attributes?.ApproximateReceiveCount ?? 1);
      const deadLetter = maxReceiveCount !== undefined && receives >= maxReceiveCount;
      if (deadLetter) deadLettered++;
      group.returning.set(id, {
        order: held.order,
        receiptHandle,
        expiresAt: changedExpiry ?? held.receivedAt + this.options.visibilityTimeoutSeconds * 1000,
        deadLetter,
      });
    }
    for (const { group } of batch) group.inFlight = false;

    const groupCounts = new Map<string, number>();
    for (const r of records) {
      const g = r.attributes.MessageGroupId ?? '-';
      groupCounts.set(g, (groupCounts.get(g) ?? 0) + 1);
    }
    const groups = [...groupCounts].map(([g, n]) => (n > 1 ? `${g} ×${n}` : g)).join(', ');
    const status = !outcome.ok ? 'error' : failed.size > 0 ? `${failed.size}/${records.length} failed` : 'ok';
    const retry =
      failed.size > 0
        ? `; ${failed.size - deadLettered} back in ${this.options.visibilityTimeoutSeconds} s` +
          (sooner > 0 ? ` (${sooner} sooner: visibility changed)` : '') +
          (deadLettered > 0
            ? `, ${deadLettered} to the dead-letter queue (maxReceiveCount ${maxReceiveCount})`
            : '')
        : '';
    for (const line of invocationLines({
      label: 'sqs',
      functionId: trigger.functionId,
      status,
      outcome,
      detail: `batch of ${records.length} (${groups})${retry}`,
    })) {
      this.options.log(line);
    }
    await this.delete(toDelete);
  }

  /**
   * Invokes the function; when Lambda throttles it (reserved concurrency reached), retries the
   * same batch with growing back-off, as Lambda's pollers do, until the records' visibility
   * timeout would run out first: then they are left to come back from the queue.
   */
  private async invokeWithThrottleRetries(
    records: SQSRecord[],
    batch: { held: HeldMessage }[],
  ): Promise<InvokeOutcome> {
    const visibleAgainAt =
      Math.min(...batch.map(({ held }) => held.receivedAt)) + this.options.visibilityTimeoutSeconds * 1000;
    let backoff = THROTTLE_BACKOFF_MS;
    for (;;) {
      const outcome = await this.options.invoke({ Records: records });
      if (!outcome.throttled || !this.running || Date.now() + backoff >= visibleAgainAt) return outcome;
      this.options.log(
        `event source: ${this.options.trigger.functionId} throttled (reserved concurrency); ` +
          `retrying a batch of ${records.length} in ${backoff} ms`,
      );
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.abort.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, backoff);
        this.abort.signal.addEventListener('abort', done, { once: true });
      });
      backoff = Math.min(backoff * 2, THROTTLE_BACKOFF_MAX_MS);
    }
  }

  private async delete(entries: { id: string; receiptHandle: string }[]): Promise<void> {
    for (let start = 0; start < entries.length; start += 10) {
      const chunk = entries.slice(start, start + 10);
      try {
        const { Failed = [] } = await this.options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: chunk.map((e, i) => ({ Id: String(i), ReceiptHandle: e.receiptHandle })),
          }),
        );
        for (const f of Failed) {
          this.options.log(
            `event source: could not delete ${chunk[Number(f.Id)]?.id} (${f.Code}: ${f.Message})`,
          );
        }
      } catch (error) {
        this.options.log(`event source: DeleteMessageBatch failed (${(error as Error).message})`);
      }
    }
  }
}
