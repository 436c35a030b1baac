/**
 * Telling DynamoDB's answers apart. Only `ConditionalCheckFailed` means a condition of ours
 * did not hold (not in the room, nickname taken, seq taken, …). A transaction cancelled for
 * `TransactionConflict` (another transaction on the same item) or `ThrottlingError` is
 * retried here with jittered backoff and, if it keeps failing, surfaces as an error (→
 * `internal`), never as a domain answer.
 */
import {
  type DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { sleep } from '../../runtime/sleep.js';

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** The cancellation code of each item of a cancelled transaction (`None` for items that were fine). */
export function cancellationCodes(error: unknown): string[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

/** Which items of a cancelled transaction failed their condition (empty when none did). */
export function failedConditions(error: unknown): number[] {
  return (cancellationCodes(error) ?? []).flatMap((code, index) =>
    code === 'ConditionalCheckFailed' ? [index] : [],
  );
}

const TRANSIENT = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** A cancellation caused only by contention or throttling, never by one of our conditions. */
export function isTransientCancellation(error: unknown): boolean {
  const codes = cancellationCodes(error);
  return !!codes && codes.some((code) => TRANSIENT.has(code)) && failedConditions(error).length === 0;
}

export interface TransactOptions {
  attempts?: number;
  baseDelayMs?: number;
  random?: () => number;
}

/**
 * Runs a transaction, retrying it while it is cancelled only for contention or throttling.
 * Condition failures and other errors are thrown at once, for the caller to map.
 */
export async function transact(
  client: DynamoDBClient,
  input: TransactWriteItemsCommandInput,
  options: TransactOptions = {},
): Promise<void> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 25;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(new TransactWriteItemsCommand(input));
      return;
    } catch (error) {
      if (attempt >= attempts || !isTransientCancellation(error)) throw error;
      await sleep(Math.floor(random() * base * 2 ** attempt));
    }
  }
}
