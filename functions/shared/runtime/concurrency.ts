/**
 * Runs `task` over `items` with at most `limit` in flight, preserving nothing but the bound.
 * Never rejects: every task's outcome is reported through `task` itself.
 */
export async function forEachConcurrently<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      await task(next.value);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

/**
 * Like forEachConcurrently, over items that arrive in pages (e.g. DynamoDB Query pages): one
 * pool of `limit` workers runs across page boundaries, and the next page is fetched while the
 * current one is being worked on, so a large room never waits on a page fetch with the pool
 * drained. A failed page fetch rejects the whole run.
 */
export async function forEachConcurrentlyPaged<T>(
  pages: AsyncIterable<T[]>,
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const source = pages[Symbol.asyncIterator]();
  const fetchPage = () => {
    const next = source.next();
    next.catch(() => undefined); // observed by the workers that await it
    return next;
  };
  let page: T[] = [];
  let index = 0;
  let upcoming: Promise<IteratorResult<T[]>> | undefined = fetchPage();
  const take = async (): Promise<{ item: T } | undefined> => {
    while (index >= page.length) {
      const pending = upcoming;
      if (!pending) return undefined;
      const result = await pending;
      if (pending !== upcoming) continue; // another worker already moved on to this page
      if (result.done) {
        upcoming = undefined;
      } else {
        page = result.value;
        index = 0;
        upcoming = fetchPage(); // prefetch while this page is worked on
      }
    }
    return { item: page[index++] as T };
  };
  const worker = async (): Promise<void> => {
    for (let next = await take(); next; next = await take()) await task(next.item);
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

/**
 * A bound shared by work that is started apart (e.g. the records of one invocation, which run
 * at once when they belong to different FIFO groups): at most `size` holders at a time, the
 * others wait in arrival order.
 */
export class Semaphore {
  private available: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.available = Math.max(1, size);
  }

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available += 1;
  }
}
