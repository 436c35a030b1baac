/** RateLimiter on the in-memory chat table (mirrors adapters/dynamodb/rate-limiter.ts). */
import { ConnectionNotFoundError } from '../../../functions/shared/domain/errors';
import type { RateBucket, RateLimiter, RateRule } from '../../../functions/shared/ports';
import { type InMemoryChatTable, Scripted } from './chat-table';

export class InMemoryRateLimiter extends Scripted<keyof RateLimiter> implements RateLimiter {
  constructor(private readonly table: InMemoryChatTable) {
    super();
  }

  /** One fixed window per bucket on the connection's item. */
  async take(connectionId: string, bucket: RateBucket, rule: RateRule, now: Date): Promise<boolean> {
    await this.enter('take');
    const item = this.table.connections.get(connectionId);
    if (!item) throw new ConnectionNotFoundError();
    const window = Math.floor(now.getTime() / 1000 / rule.windowSeconds) * rule.windowSeconds;
    const current = item.windows[bucket];
    if (current?.window === window && current.count < rule.limit) {
      current.count += 1;
      return true;
    }
    if (current === undefined || current.window < window) {
      item.windows[bucket] = { window, count: 1 };
      return true;
    }
    return false;
  }
}
