import { type FifoRecord, processFifoBatch } from '../../../functions/shared/runtime/fifo-batch';

const record = (messageId: string, groupId: string): FifoRecord => ({ messageId, groupId });

/** A handler that records the order it saw records in and fails the ids in `failing`. */
function handlerFailing(...failing: string[]) {
  const seen: string[] = [];
  const handle = async (r: FifoRecord) => {
    seen.push(r.messageId);
    await Promise.resolve();
    if (failing.includes(r.messageId)) throw new Error(`boom ${r.messageId}`);
  };
  return { seen, handle };
}

const ids = (records: { messageId: string }[]) => records.map((r) => r.messageId);
const returned = (result: { batchItemFailures: { itemIdentifier: string }[] }) =>
  result.batchItemFailures.map((f) => f.itemIdentifier);

describe('processFifoBatch', () => {
  it('returns nothing when every record is handled', async () => {
    const { seen, handle } = handlerFailing();
    const records = [record('a1', 'A'), record('b1', 'B'), record('a2', 'A')];

    const result = await processFifoBatch(records, handle);

    expect(result).toEqual({ batchItemFailures: [], failed: [], notStarted: [] });
    expect([...seen].sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('returns the first failing record of a group and every later one, without starting them', async () => {
    const { seen, handle } = handlerFailing('a2');
    const records = [record('a1', 'A'), record('a2', 'A'), record('a3', 'A'), record('a4', 'A')];

    const result = await processFifoBatch(records, handle);

    expect(returned(result)).toEqual(['a2', 'a3', 'a4']);
    expect(seen).toEqual(['a1', 'a2']);
  });

  it('reports the failed record with its error, and the ones behind it as not started', async () => {
    const { handle } = handlerFailing('a2');
    const records = [record('a1', 'A'), record('a2', 'A'), record('a3', 'A'), record('b1', 'B')];

    const { failed, notStarted } = await processFifoBatch(records, handle);

    expect(failed).toEqual([{ record: records[1], error: expect.objectContaining({ message: 'boom a2' }) }]);
    expect(ids(notStarted)).toEqual(['a3']);
  });

  it('lets other groups carry on when one group fails', async () => {
    const { seen, handle } = handlerFailing('a1');
    const records = [
      record('a1', 'A'),
      record('b1', 'B'),
      record('a2', 'A'),
      record('b2', 'B'),
      record('c1', 'C'),
    ];

    const result = await processFifoBatch(records, handle);

    expect(returned(result)).toEqual(['a1', 'a2']);
    expect(seen).toEqual(expect.arrayContaining(['b1', 'b2', 'c1']));
    expect(seen).not.toContain('a2');
  });

  it('handles the records of a group in batch order', async () => {
    const seen: string[] = [];
    const records = [
      record('a1', 'A'),
      record('b1', 'B'),
      record('a2', 'A'),
      record('b2', 'B'),
      record('a3', 'A'),
    ];

    await processFifoBatch(records, async (r) => {
      // Later records finish sooner: only sequential handling keeps the order.
      await new Promise((resolve) => setTimeout(resolve, 10 - Number(r.messageId.slice(1)) * 3));
      seen.push(r.messageId);
    });

    expect(seen.filter((id) => id.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(seen.filter((id) => id.startsWith('b'))).toEqual(['b1', 'b2']);
  });

  it('returns records in the batch order across groups', async () => {
    const { handle } = handlerFailing('b1', 'a2');
    const records = [
      record('a1', 'A'),
      record('b1', 'B'),
      record('a2', 'A'),
      record('b2', 'B'),
      record('a3', 'A'),
    ];

    const result = await processFifoBatch(records, handle);

    expect(returned(result)).toEqual(['b1', 'a2', 'b2', 'a3']);
  });

  it('handles different groups concurrently', async () => {
    let releaseA: () => void = () => undefined;
    const aWaitsForB = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    const records = [record('a1', 'A'), record('b1', 'B')];

    const result = await processFifoBatch(records, async (r) => {
      if (r.messageId === 'a1') await aWaitsForB;
      else releaseA();
    });

    expect(result.batchItemFailures).toEqual([]);
  });

  it('tells onFailure once per failed group, with the record and the error that stopped it', async () => {
    const { handle } = handlerFailing('a1', 'b2');
    const onFailure = jest.fn();
    const records = [record('a1', 'A'), record('a2', 'A'), record('b1', 'B'), record('b2', 'B')];

    await processFifoBatch(records, handle, { onFailure });

    expect(onFailure).toHaveBeenCalledTimes(2);
    expect(onFailure).toHaveBeenCalledWith(records[0], expect.objectContaining({ message: 'boom a1' }));
    expect(onFailure).toHaveBeenCalledWith(records[3], expect.objectContaining({ message: 'boom b2' }));
  });

  describe('running out of time (canStart)', () => {
    it('starts no record once canStart says no, returning it and the rest of its group as not started', async () => {
      const { seen, handle } = handlerFailing();
      let budget = 2;
      const records = [record('a1', 'A'), record('a2', 'A'), record('a3', 'A'), record('a4', 'A')];

      const result = await processFifoBatch(records, handle, { canStart: () => budget-- > 0 });

      expect(seen).toEqual(['a1', 'a2']);
      expect(ids(result.notStarted)).toEqual(['a3', 'a4']);
      expect(result.failed).toEqual([]);
      expect(returned(result)).toEqual(['a3', 'a4']);
    });

    it('asks before every record, so a batch that is out of time starts nothing', async () => {
      const { seen, handle } = handlerFailing();
      const canStart = jest.fn(() => false);
      const records = [record('a1', 'A'), record('b1', 'B'), record('a2', 'A')];

      const result = await processFifoBatch(records, handle, { canStart });

      expect(seen).toEqual([]);
      expect(canStart).toHaveBeenCalledTimes(2);
      expect(returned(result)).toEqual(['a1', 'b1', 'a2']);
    });

    it('returns a failed record and the records out of time together, in batch order', async () => {
      const { handle } = handlerFailing('b1');
      let started = 0;
      const records = [record('a1', 'A'), record('b1', 'B'), record('a2', 'A'), record('b2', 'B')];

      const result = await processFifoBatch(records, handle, { canStart: () => started++ < 2 });

      expect(ids(result.failed.map((f) => f.record))).toEqual(['b1']);
      expect(ids(result.notStarted)).toEqual(['a2', 'b2']);
      expect(returned(result)).toEqual(['b1', 'a2', 'b2']);
    });
  });
});
