import { parkOnLastAttempt, type RetriedRecord } from '../../../functions/shared/runtime/fifo-batch';

const record = (receiveCount: number): RetriedRecord => ({
  messageId: 'm1',
  groupId: 'room:1',
  receiveCount,
});

describe('parkOnLastAttempt', () => {
  const failing = async () => {
    throw new Error('delivery failed');
  };

  it('rethrows a failure before the last attempt, and parks nothing', async () => {
    const park = jest.fn(async () => undefined);

    await expect(parkOnLastAttempt(failing, park, 3)(record(2))).rejects.toThrow('delivery failed');

    expect(park).not.toHaveBeenCalled();
  });

  it('parks a record that fails on its last attempt and reports it handled', async () => {
    const park = jest.fn(async () => undefined);

    await expect(parkOnLastAttempt(failing, park, 3)(record(3))).resolves.toBeUndefined();

    expect(park).toHaveBeenCalledWith(record(3), expect.objectContaining({ message: 'delivery failed' }));
  });

  it('keeps the original failure when parking fails, leaving the redrive to SQS', async () => {
    const park = async () => {
      throw new Error('DLQ unavailable');
    };

    await expect(parkOnLastAttempt(failing, park, 3)(record(4))).rejects.toThrow('delivery failed');
  });

  it('does not park a record that succeeds on its last attempt', async () => {
    const park = jest.fn(async () => undefined);

    await parkOnLastAttempt(async () => undefined, park, 3)(record(3));

    expect(park).not.toHaveBeenCalled();
  });
});
