/**
 * Partial-batch processing for an SQS FIFO event source. Records of one message group are
 * handled in order; at the first failure in a group that record and every later record of
 * the same group are reported as failed (so SQS redelivers them in order), while other
 * groups carry on. Returns the `batchItemFailures` Lambda expects.
 */
export interface FifoRecord {
  messageId: string;
  groupId: string;
}

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
}

export async function processFifoBatch<R extends FifoRecord>(
  records: readonly R[],
  handle: (record: R) => Promise<void>,
  onFailure: (record: R, error: unknown) => void = () => undefined,
): Promise<BatchResult> {
  const groups = new Map<string, R[]>();
  for (const record of records) {
    const group = groups.get(record.groupId);
    if (group) group.push(record);
    else groups.set(record.groupId, [record]);
  }
  const failed = new Set<string>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const [index, record] of group.entries()) {
        try {
          await handle(record);
        } catch (error) {
          onFailure(record, error);
          for (const rest of group.slice(index)) failed.add(rest.messageId);
          return;
        }
      }
    }),
  );
  // Report in the batch's own order.
  return {
    batchItemFailures: records
      .filter((r) => failed.has(r.messageId))
      .map((r) => ({ itemIdentifier: r.messageId })),
  };
}

export interface RetriedRecord extends FifoRecord {
  /** How often SQS has handed this record out, this time included. */
  receiveCount: number;
}

/**
 * Wraps a record handler so that a record failing on its last attempt (receiveCount has
 * reached the queue's maxReceiveCount) is parked in the dead-letter queue by us and counts
 * as handled. Left to SQS, the redrive would happen only on a later receive, and under the
 * FIFO group rule every record behind it in its group would keep failing alongside it, pile
 * up receives and be dead-lettered too. Parking it lets the rest of the group flow now. If
 * parking fails, the original error stands and SQS's own redrive remains the backstop.
 */
export function parkOnLastAttempt<R extends RetriedRecord>(
  handle: (record: R) => Promise<void>,
  park: (record: R, error: unknown) => Promise<void>,
  maxReceiveCount: number,
): (record: R) => Promise<void> {
  return async (record) => {
    try {
      await handle(record);
    } catch (error) {
      if (record.receiveCount < maxReceiveCount) throw error;
      try {
        await park(record, error);
      } catch {
        throw error;
      }
    }
  };
}
