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
