/**
 * Telling DynamoDB's answers to a transaction apart (adapters/dynamodb/conditions.ts): only a
 * failed condition of ours is a domain answer; contention and throttling are retried, and
 * anything else is an error. The errors are the SDK's own exception class, as the client
 * throws them; the client itself is a stand-in that answers in turn.
 */
import {
  type DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  cancellationCodes,
  failedConditions,
  isConditionFailure,
  isTransientCancellation,
  transact,
} from '../../../functions/shared/adapters/dynamodb/conditions';

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    $metadata: { httpStatusCode: 400 },
    message: `Transaction cancelled [${codes.join(', ')}]`,
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

/** A client whose send() answers with `answers` in turn (an error is thrown), then succeeds. */
function clientAnswering(...answers: unknown[]) {
  const send = jest.fn(async (_command: unknown) => {
    const answer = answers.shift();
    if (answer !== undefined) throw answer;
    return {};
  });
  return { client: { send } as unknown as DynamoDBClient, send };
}

const input = { TransactItems: [] };
const noWait = { baseDelayMs: 0 };

describe('reading a cancelled transaction', () => {
  it('lists the code of each item, None for the items that were fine', () => {
    expect(cancellationCodes(cancelled('None', 'ConditionalCheckFailed', 'None'))).toEqual([
      'None',
      'ConditionalCheckFailed',
      'None',
    ]);
    expect(cancellationCodes(new Error('not a cancellation'))).toBeUndefined();
  });

  it('names the items whose condition failed', () => {
    expect(failedConditions(cancelled('ConditionalCheckFailed', 'None', 'ConditionalCheckFailed'))).toEqual([
      0, 2,
    ]);
    expect(failedConditions(cancelled('TransactionConflict', 'None'))).toEqual([]);
  });

  it.each([
    ['a conflict with another transaction', ['None', 'TransactionConflict'], true],
    ['throttling', ['ThrottlingError', 'None'], true],
    ['exceeded throughput', ['ProvisionedThroughputExceeded'], true],
    ['a failed condition', ['ConditionalCheckFailed', 'None'], false],
    ['a failed condition beside a conflict', ['ConditionalCheckFailed', 'TransactionConflict'], false],
    ['a validation error', ['ValidationError'], false],
  ])('treats %s as transient: %p', (_what, codes, transient) => {
    expect(isTransientCancellation(cancelled(...codes))).toBe(transient);
  });

  it('recognises a single write whose condition failed', () => {
    expect(isConditionFailure({ name: 'ConditionalCheckFailedException' })).toBe(true);
    expect(isConditionFailure(cancelled('ConditionalCheckFailed'))).toBe(false);
    expect(isConditionFailure(null)).toBe(false);
  });
});

describe('transact', () => {
  it('sends the transaction once when it goes through', async () => {
    const { client, send } = clientAnswering();

    await transact(client, input, noWait);

    expect(send).toHaveBeenCalledTimes(1);
    expect(send.mock.calls[0]?.[0]).toBeInstanceOf(TransactWriteItemsCommand);
  });

  it('retries a transaction cancelled by contention or throttling until it goes through', async () => {
    const { client, send } = clientAnswering(cancelled('TransactionConflict'), cancelled('ThrottlingError'));

    await transact(client, input, noWait);

    expect(send).toHaveBeenCalledTimes(3);
  });

  it('throws the last cancellation when contention outlasts its attempts', async () => {
    const last = cancelled('TransactionConflict');
    const { client, send } = clientAnswering(
      cancelled('TransactionConflict'),
      cancelled('TransactionConflict'),
      last,
    );

    await expect(transact(client, input, { ...noWait, attempts: 3 })).rejects.toBe(last);
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('throws a failed condition at once, for the caller to map to a domain error', async () => {
    const failed = cancelled('None', 'ConditionalCheckFailed');
    const { client, send } = clientAnswering(failed);

    await expect(transact(client, input, noWait)).rejects.toBe(failed);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('throws any other error at once', async () => {
    const down = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const { client, send } = clientAnswering(down);

    await expect(transact(client, input, noWait)).rejects.toBe(down);
    expect(send).toHaveBeenCalledTimes(1);
  });

  it('waits a jittered, growing delay between attempts', async () => {
    jest.useFakeTimers();
    try {
      const { client, send } = clientAnswering(
        cancelled('TransactionConflict'),
        cancelled('TransactionConflict'),
      );

      const done = transact(client, input, { baseDelayMs: 100, random: () => 0.5 });
      await jest.advanceTimersByTimeAsync(99);
      expect(send).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(send).toHaveBeenCalledTimes(2);
      await jest.advanceTimersByTimeAsync(200);
      await done;

      expect(send).toHaveBeenCalledTimes(3);
    } finally {
      jest.useRealTimers();
    }
  });
});
