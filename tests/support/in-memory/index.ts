/**
 * The chat's stores in memory, over one shared table, with the same semantics as the DynamoDB
 * adapters (proven by the contract suites in tests/support/contracts, run by
 * tests/integration/stores.test.ts against both).
 */
import { InMemoryChatTable, type InMemoryChatTableOptions } from './chat-table';
import { InMemoryRegistry } from './connection-registry';
import { InMemoryEntryStore } from './entry-store';
import { InMemoryFailureCounter } from './failure-counter';
import { InMemoryRateLimiter } from './rate-limiter';
import { InMemoryRoomLog } from './room-log';

export type { ChatTableSnapshot } from './chat-table';
export { InMemoryChatTable, Scripted } from './chat-table';
export { InMemoryEntryStore, InMemoryFailureCounter, InMemoryRateLimiter, InMemoryRegistry, InMemoryRoomLog };

export interface InMemoryChat {
  table: InMemoryChatTable;
  registry: InMemoryRegistry;
  entries: InMemoryEntryStore;
  /** The room log as one fanout sandbox sees it (its own head cache). */
  log: InMemoryRoomLog;
  limiter: InMemoryRateLimiter;
  failures: InMemoryFailureCounter;
  /** Another sandbox's view of the same room logs (a head cache of its own). */
  anotherLog(): InMemoryRoomLog;
}

export function inMemoryChat(
  options: InMemoryChatTableOptions & { retentionDays?: number; slices?: number } = {},
): InMemoryChat {
  const table = new InMemoryChatTable(options);
  const retention = {
    retentionDays: options.retentionDays ?? 7,
    ...(options.slices === undefined ? {} : { slices: options.slices }),
  };
  return {
    table,
    registry: new InMemoryRegistry(table),
    entries: new InMemoryEntryStore(table),
    log: new InMemoryRoomLog(table, retention),
    limiter: new InMemoryRateLimiter(table),
    failures: new InMemoryFailureCounter(table),
    anotherLog: () => new InMemoryRoomLog(table, retention),
  };
}
