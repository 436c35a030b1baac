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

const ids = (result: { batchItemFailures: { itemIdentifier: string }[] }) =>
  result.batchItemFailures.map((f) => f.itemIdentifier);

describe('processFifoBatch', () => {
  it('reports no failures when every record is handled', async () => {
    const { seen, handle } = handlerFailing();
    const records = [record('a1', 'A'), record('b1', 'B'), record('a2', 'A')];

    const result = await processFifoBatch(records, handle);

    expect(result).toEqual({ batchItemFailures: [] });
    expect([...seen].sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('fails the first failing record and every later record of its group, without handling them', async () => {
    const { seen, handle } = handlerFailing('a2');
    const records = [record('a1', 'A'), record('a2', 'A'), record('a3', 'A'), record('a4', 'A')];

    const result = await processFifoBatch(records, handle);

    expect(ids(result)).toEqual(['a2', 'a3', 'a4']);
    expect(seen).toEqual(['a1', 'a2']);
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

    expect(ids(result)).toEqual(['a1', 'a2']);
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

  it('reports failures in the batch order across groups', async () => {
    const { handle } = handlerFailing('b1', 'a2');
    const records = [
      record('a1', 'A'),
      record('b1', 'B'),
      record('a2', 'A'),
      record('b2', 'B'),
      record('a3', 'A'),
    ];

    const result = await processFifoBatch(records, handle);

    expect(ids(result)).toEqual(['b1', 'a2', 'b2', 'a3']);
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

    await processFifoBatch(records, handle, onFailure);

    expect(onFailure).toHaveBeenCalledTimes(2);
    expect(onFailure).toHaveBeenCalledWith(records[0], expect.objectContaining({ message: 'boom a1' }));
    expect(onFailure).toHaveBeenCalledWith(records[3], expect.objectContaining({ message: 'boom b2' }));
  });
});
