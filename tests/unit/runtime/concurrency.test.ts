import {
  forEachConcurrently,
  forEachConcurrentlyPaged,
  Semaphore,
} from '../../../functions/shared/runtime/concurrency';

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

describe('forEachConcurrentlyPaged', () => {
  async function* pagesOf<T>(pages: T[][], log: string[] = []): AsyncGenerator<T[]> {
    for (const [i, page] of pages.entries()) {
      log.push(`fetch ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      yield page;
    }
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('runs every item of every page once, skipping empty pages', async () => {
    const done: number[] = [];

    await forEachConcurrentlyPaged(pagesOf([[1, 2, 3], [], [4], [5, 6]]), 2, async (n) => {
      await sleep(1);
      done.push(n);
    });

    expect([...done].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps exactly `limit` tasks in flight across page boundaries', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const pages = Array.from({ length: 6 }, (_, p) => Array.from({ length: 3 }, (_, i) => p * 3 + i));

    await forEachConcurrentlyPaged(pagesOf(pages), 4, async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(3);
      inFlight -= 1;
    });

    expect(maxInFlight).toBe(4);
  });

  it('lets free workers start on the next page while a slow item of the current page runs', async () => {
    const finished: string[] = [];

    await forEachConcurrentlyPaged(
      pagesOf([
        ['slow', 'a'],
        ['b', 'c', 'd'],
      ]),
      2,
      async (item) => {
        await sleep(item === 'slow' ? 60 : 2);
        finished.push(item);
      },
    );

    expect(finished.at(-1)).toBe('slow');
    expect(finished).toHaveLength(5);
  });

  it('fetches the next page while the current one is being worked on', async () => {
    const log: string[] = [];

    await forEachConcurrentlyPaged(pagesOf([[1], [2]], log), 1, async (n) => {
      log.push(`start ${n}`);
      await sleep(10);
      log.push(`end ${n}`);
    });

    expect(log.indexOf('fetch 1')).toBeLessThan(log.indexOf('end 1'));
    expect(log.at(-1)).toBe('end 2');
  });

  it('rejects when a page cannot be fetched', async () => {
    async function* failing(): AsyncGenerator<number[]> {
      yield [1];
      throw new Error('Query failed');
    }

    await expect(forEachConcurrentlyPaged(failing(), 2, async () => undefined)).rejects.toThrow(
      'Query failed',
    );
  });
});

describe('Semaphore', () => {
  it('lets at most `size` holders in at once across separate runs, and all of them through', async () => {
    const slots = new Semaphore(3);
    let held = 0;
    let most = 0;
    const run = (count: number) =>
      forEachConcurrently(range(count), count, async () => {
        await slots.acquire();
        held += 1;
        most = Math.max(most, held);
        await new Promise((resolve) => setTimeout(resolve, 2));
        held -= 1;
        slots.release();
      });

    await Promise.all([run(5), run(7), run(4)]);

    expect(most).toBe(3);
    expect(held).toBe(0);
  });

  it('hands a released slot to the one that waited longest', async () => {
    const slots = new Semaphore(1);
    const order: string[] = [];
    await slots.acquire();
    const waiting = ['a', 'b', 'c'].map(async (name) => {
      await slots.acquire();
      order.push(name);
      slots.release();
    });

    slots.release();
    await Promise.all(waiting);

    expect(order).toEqual(['a', 'b', 'c']);
  });
});
