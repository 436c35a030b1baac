/**
 * Partial-batch processing for an SQS FIFO event source. Records of one message group are
 * handled in order; at the first failure in a group that record and every later record of
 * the same group are reported as failed (so SQS redelivers them in order), while other
 * groups carry on. A record is not started once `canStart()` says the invocation's time is
 * running out: it and the rest of its group are returned too, as not started.
 */
export interface FifoRecord {
  messageId: string;
  groupId: string;
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface BatchOutcome<R> extends BatchResult {
  /** Records whose handling threw, with the error (at most one per group). */
  failed: { record: R; error: unknown }[];
  /** Records never started: behind a failed record in their group, or out of time. */
  notStarted: R[];
}

export interface BatchOptions<R> {
  /** Asked before each record; false leaves it and the rest of its group for the next invocation. */
  canStart?: () => boolean;
  onFailure?: (record: R, error: unknown) => void;
}

export async function processFifoBatch<R extends FifoRecord>(
  records: readonly R[],
  handle: (record: R) => Promise<void>,
  options: BatchOptions<R> = {},
): Promise<BatchOutcome<R>> {
  const groups = new Map<string, R[]>();
  for (const record of records) {
    const group = groups.get(record.groupId);
    if (group) group.push(record);
    else groups.set(record.groupId, [record]);
  }
  const failed: BatchOutcome<R>['failed'] = [];
  const notStarted = new Set<R>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const [index, record] of group.entries()) {
        if (options.canStart && !options.canStart()) {
          for (const rest of group.slice(index)) notStarted.add(rest);
          return;
        }
        try {
          await handle(record);
        } catch (error) {
          options.onFailure?.(record, error);
          failed.push({ record, error });
          for (const rest of group.slice(index + 1)) notStarted.add(rest);
          return;
        }
      }
    }),
  );
  const returned = new Set<R>([...failed.map((f) => f.record), ...notStarted]);
  // Reported in the batch's own order.
  return {
    batchItemFailures: records.filter((r) => returned.has(r)).map((r) => ({ itemIdentifier: r.messageId })),
    failed,
    notStarted: records.filter((r) => notStarted.has(r)),
  };
}

export interface RetriedRecord extends FifoRecord {
  /** How often SQS has handed this record out, this time included. */
  receiveCount: number;
}

export interface ParkingRules<R> {
  /** Failed attempts at an event before it is parked. */
  maxAttempts: number;
  /** Counts this failure of the record's event and returns the count so far. */
  countFailure: (record: R) => Promise<number>;
  park: (record: R, error: unknown) => Promise<void>;
  /** Errors that are not the event's fault (the invocation ran out of time) are not counted. */
  counts?: (error: unknown) => boolean;
}

/** A failure that was counted: how many times the event has failed so far. */
export class CountedFailure extends Error {
  constructor(
    readonly failures: number,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original), { cause: original });
    this.name = 'CountedFailure';
  }
}

/**
 * Wraps a record handler so that an event that has failed `maxAttempts` times is parked in
 * the dead-letter queue by us and counts as handled: the records behind it in its group then
 * flow now. Failures are counted per event (ApproximateReceiveCount also counts receives on
 * which the record never ran); if the count cannot be read, the receive count stands in. A
 * failure below the limit is rethrown as CountedFailure (its count sets the retry backoff).
 * If parking fails, the original error stands and SQS's own redrive remains the backstop.
 */
export function parkAfterFailures<R extends RetriedRecord>(
  handle: (record: R) => Promise<void>,
  rules: ParkingRules<R>,
): (record: R) => Promise<void> {
  return async (record) => {
    try {
      await handle(record);
    } catch (error) {
      if (rules.counts && !rules.counts(error)) throw error;
      const failures = await rules.countFailure(record).catch(() => record.receiveCount);
      if (failures < rules.maxAttempts) throw new CountedFailure(failures, error);
      try {
        await rules.park(record, error);
      } catch {
        throw new CountedFailure(failures, error);
      }
    }
  };
}
