/**
 * One fanout "sandbox" for the benchmarks: a process that loads the real fanout handler with
 * the environment it was forked with, and either runs the events it is sent (as one batch)
 * or polls the queue as the SQS event source mapping does (batches of up to 10, deleting
 * what succeeded). Its CPU time is its own, so the parent can divide it by the posts.
 * Protocol over IPC: see fanout-processes.ts.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { RoomEvent } from '../../functions/shared/domain/room-events';
import { sqsEvent, sqsFifoRecord, sqsRecordFromMessage } from '../../tests/support/sqs-events';

type Command =
  | { kind: 'invoke'; events: RoomEvent[] }
  | { kind: 'poll'; queueUrl: string }
  | { kind: 'usage' }
  | { kind: 'stop' };

const { handler } = require('../../functions/fanout/handler') as {
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
};
const send = (message: unknown) => process.send?.(message);
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

let polling = false;
let failures = 0;

async function poll(queueUrl: string): Promise<void> {
  const sqs = new SQSClient({});
  polling = true;
  while (polling) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        AttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) continue;
    const { batchItemFailures } = await handler(sqsEvent(Messages.map(sqsRecordFromMessage)));
    failures += batchItemFailures.length;
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    const done = Messages.filter((m) => !failed.has(m.MessageId ?? ''));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
  sqs.destroy();
}

process.on('message', (command: Command) => {
  if (command.kind === 'invoke') {
    const started = performance.now();
    void handler(sqsEvent(command.events.map((e) => sqsFifoRecord(e)))).then((response) =>
      send({ kind: 'invoked', response, wallMs: performance.now() - started }),
    );
  } else if (command.kind === 'poll') {
    void poll(command.queueUrl).catch((error: unknown) => send({ kind: 'error', error: String(error) }));
    send({ kind: 'polling' });
  } else if (command.kind === 'usage') {
    send({ kind: 'usage', cpuMs: cpuMs(), failures });
  } else if (command.kind === 'stop') {
    polling = false;
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ kind: 'ready' });
