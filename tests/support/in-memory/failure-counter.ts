/** FailureCounter on the in-memory chat table (mirrors adapters/dynamodb/failure-counter.ts). */
import { FAILURE_TTL_SECONDS } from '../../../functions/shared/adapters/dynamodb/table-layout';
import type { FailureCounter } from '../../../functions/shared/ports';
import { type InMemoryChatTable, Scripted } from './chat-table';

export class InMemoryFailureCounter extends Scripted<keyof FailureCounter> implements FailureCounter {
  constructor(private readonly table: InMemoryChatTable) {
    super();
  }

  async recordFailure(groupId: string, eventId: string): Promise<number> {
    await this.enter('recordFailure');
    const ttl = this.table.nowSeconds() + FAILURE_TTL_SECONDS;
    const item = this.table.failures.get(groupId);
    if (item?.eventId === eventId) {
      item.failures += 1;
      item.ttl = ttl;
      return item.failures;
    }
    // The group's head moved on (or this is its first failure): count this event from 1.
    this.table.failures.set(groupId, { eventId, failures: 1, ttl });
    return 1;
  }
}
