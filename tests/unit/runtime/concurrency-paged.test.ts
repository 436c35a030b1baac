import { forEachConcurrentlyPaged } from '../../../functions/shared/runtime/concurrency';

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function* pagesOf<T>(pages: T[][], onFetch: (index: number) => Promise<void> = async () => undefined) {
  for (const [index, page] of pages.entries()) {
    await onFetch(index);
    yield page;
  }
}

describe('forEachConcurrentlyPaged', () => {
  it('visits every item of every page exactly once', async () => {
    const seen: number[] = [];
    await forEachConcurrentlyPaged(pagesOf([[1, 2, 3], [], [4], [5, 6]]), 2, async (n) => {
      await tick();
      seen.push(n);
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('never has more than the limit in flight, across page boundaries', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    await forEachConcurrentlyPaged(pagesOf([[1, 2, 3], [4, 5, 6, 7], [8]]), 3, async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await tick();
      inFlight -= 1;
    });
    expect(maxInFlight).toBe(3);
  });

  it('fetches the next page while the current one is still being worked on', async () => {
    const events: string[] = [];
    let release: () => void = () => undefined;
    const firstItemBlocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const run = forEachConcurrentlyPaged(
      pagesOf([['a'], ['b']], async (index) => {
        events.push(`fetch ${index}`);
      }),
      1,
      async (item) => {
        events.push(`start ${item}`);
        if (item === 'a') await firstItemBlocked;
      },
    );
    await tick();
    await tick();
    // 'a' is still in progress, yet page 1 has already been fetched.
    expect(events).toEqual(expect.arrayContaining(['start a', 'fetch 1']));
    expect(events).not.toContain('start b');
    release();
    await run;
    expect(events[events.length - 1]).toBe('start b');
  });

  it('rejects when a page cannot be fetched', async () => {
    async function* failing() {
      yield [1];
      throw new Error('throttled');
    }
    await expect(forEachConcurrentlyPaged(failing(), 2, async () => undefined)).rejects.toThrow('throttled');
  });
});
