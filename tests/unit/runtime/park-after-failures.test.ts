import {
  CountedFailure,
  type ParkingRules,
  parkAfterFailures,
  type RetriedRecord,
} from '../../../functions/shared/runtime/fifo-batch';

const record = (receiveCount = 1): RetriedRecord => ({ messageId: 'm1', groupId: 'room:1', receiveCount });

describe('parkAfterFailures', () => {
  const failure = new Error('delivery failed');
  const failing = async () => {
    throw failure;
  };
  let park: jest.Mock<Promise<void>, [RetriedRecord, unknown]>;
  let counts: number[];
  const rules = (overrides: Partial<ParkingRules<RetriedRecord>> = {}): ParkingRules<RetriedRecord> => ({
    maxAttempts: 3,
    countFailure: async () => counts.shift() ?? 99,
    park,
    ...overrides,
  });

  beforeEach(() => {
    park = jest.fn(async (_record: RetriedRecord, _error: unknown) => undefined);
    counts = [];
  });

  it('rethrows a failure below the limit as a CountedFailure with the count and the original, parking nothing', async () => {
    counts = [2];

    const error = await parkAfterFailures(failing, rules())(record()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CountedFailure);
    expect(error).toMatchObject({
      failures: 2,
      original: failure,
      message: 'delivery failed',
      cause: failure,
    });
    expect(park).not.toHaveBeenCalled();
  });

  it('parks an event that has failed maxAttempts times and counts it as handled', async () => {
    counts = [3];

    await expect(parkAfterFailures(failing, rules())(record())).resolves.toBeUndefined();

    expect(park).toHaveBeenCalledWith(record(), failure);
  });

  it('counts failures of the event, not receives: a record often received but failed once is not parked', async () => {
    counts = [1];

    await expect(parkAfterFailures(failing, rules())(record(7))).rejects.toMatchObject({ failures: 1 });
    expect(park).not.toHaveBeenCalled();
  });

  it('falls back to the receive count when the failures cannot be counted', async () => {
    const countFailure = async () => {
      throw new Error('DynamoDB down');
    };

    await expect(parkAfterFailures(failing, rules({ countFailure }))(record(3))).resolves.toBeUndefined();
    expect(park).toHaveBeenCalled();
  });

  it('rethrows an error that does not count as it is, counting and parking nothing', async () => {
    const countFailure = jest.fn(async () => 99);
    const deadline = new Error('out of time');

    const error = await parkAfterFailures(
      async () => {
        throw deadline;
      },
      rules({ countFailure, counts: (e) => e !== deadline }),
    )(record()).catch((e: unknown) => e);

    expect(error).toBe(deadline);
    expect(countFailure).not.toHaveBeenCalled();
    expect(park).not.toHaveBeenCalled();
  });

  it('keeps the original failure, counted, when parking fails (SQS redrive is the backstop)', async () => {
    counts = [5];
    park.mockRejectedValueOnce(new Error('DLQ unavailable'));

    await expect(parkAfterFailures(failing, rules())(record())).rejects.toMatchObject({
      name: 'CountedFailure',
      failures: 5,
      original: failure,
    });
  });

  it('neither counts nor parks a record that is handled', async () => {
    const countFailure = jest.fn(async () => 1);

    await parkAfterFailures(async () => undefined, rules({ countFailure }))(record(3));

    expect(countFailure).not.toHaveBeenCalled();
    expect(park).not.toHaveBeenCalled();
  });
});
