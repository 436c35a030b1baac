import { forEachConcurrently } from '../../../functions/shared/domain/concurrency';

async function run(items: number[], limit: number) {
  let inFlight = 0;
  let maxInFlight = 0;
  const done: number[] = [];
  await forEachConcurrently(items, limit, async (item) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    done.push(item);
    inFlight -= 1;
  });
  return { maxInFlight, done };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('forEachConcurrently', () => {
  it('runs every item once', async () => {
    const { done } = await run(range(25), 4);

    expect([...done].sort((a, b) => a - b)).toEqual(range(25));
  });

  it('keeps exactly `limit` tasks in flight when there is enough work', async () => {
    const { maxInFlight } = await run(range(25), 4);

    expect(maxInFlight).toBe(4);
  });

  it('runs one at a time when the limit is below one', async () => {
    const { maxInFlight, done } = await run(range(5), 0);

    expect(maxInFlight).toBe(1);
    expect(done).toHaveLength(5);
  });

  it('copes with fewer items than the limit', async () => {
    const { maxInFlight, done } = await run(range(2), 10);

    expect(maxInFlight).toBe(2);
    expect(done).toHaveLength(2);
  });
});
