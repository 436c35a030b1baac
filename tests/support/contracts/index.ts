/**
 * The stores' contracts as reusable Jest suites, one per port. tests/integration/stores.test.ts
 * runs them against the DynamoDB adapters (on DynamoDB Local) and the in-memory ports, which is
 * how the in-memory ports the use-case unit tests rely on are proven faithful.
 */
import { describeConnectionRegistryContract } from './connection-registry';
import { describeEntryStoreContract } from './entry-store';
import { describeFailureCounterContract } from './failure-counter';
import { describeRateLimiterContract } from './rate-limiter';
import { describeRoomLogContract } from './room-log';
import type { StoreSubject } from './subject';

export type { StoreSubject, StoreWorld } from './subject';
export { collect } from './subject';

export function describeStoreContracts(name: string, subject: StoreSubject): void {
  describeConnectionRegistryContract(name, subject);
  describeEntryStoreContract(name, subject);
  describeRoomLogContract(name, subject);
  describeRateLimiterContract(name, subject);
  describeFailureCounterContract(name, subject);
}
