/**
 * What a contract suite runs against: the chat's stores over one empty table (the DynamoDB
 * adapters on DynamoDB Local, or the in-memory ports), and the few things only the subject
 * can do (spread a roster over pages, run the TTL process).
 */
import { randomUUID } from 'node:crypto';
import type {
  ConnectionRegistry,
  EntryStore,
  FailureCounter,
  RateLimiter,
  RoomLog,
} from '../../../functions/shared/ports';
import { newEntry, recordOf, registerConnection } from '../chat-state';
import { joinedOf, leftOf, messageOf } from '../sqs-events';

export { joinedOf, leftOf, messageOf, newEntry, recordOf, registerConnection };

export interface StoreWorld {
  registry: ConnectionRegistry;
  entries: EntryStore;
  /** The room log as one fanout sandbox sees it (its own head cache). */
  log: RoomLog;
  limiter: RateLimiter;
  failures: FailureCounter;
  /** Another fanout sandbox's view of the same room logs. */
  anotherLog(): RoomLog;
}

export interface StoreSubject {
  /**
   * The stores over an empty table, with clock `now`, a history retention of `retentionDays`
   * and CONTRACT_SLICES slices of each roster.
   */
  create(now: () => Date, retentionDays: number): Promise<StoreWorld>;
  /** Makes the room's roster span more than one Query page (called after the members joined). */
  spreadRosterOverPages(world: StoreWorld, roomId: string, connectionIds: string[]): Promise<void>;
  /** Deletes every item whose TTL is before `now`, as DynamoDB's TTL process eventually does. */
  deleteExpired(world: StoreWorld, now: Date): Promise<void>;
}

export const T0 = new Date('2030-01-01T12:00:00.000Z');
/** Slices of the roster in the contract worlds: few, so that members share them. */
export const CONTRACT_SLICES = 3;
export const RETENTION_DAYS = 7;
export const seconds = (n: number) => n * 1000;
export const later = (ms: number, from: Date = T0) => new Date(from.getTime() + ms);

export async function collect<T>(pages: AsyncIterable<T[]>): Promise<{ pages: number; items: T[] }> {
  let count = 0;
  const items: T[] = [];
  for await (const page of pages) {
    count += 1;
    items.push(...page);
  }
  return { pages: count, items };
}

let rooms = 0;
/** A room id no other test uses. */
export const newRoom = (label = 'r') => `${label}-${++rooms}-${randomUUID().slice(0, 6)}`;
