/**
 * Arranging chat state through the ports (in memory or on DynamoDB Local alike): registered
 * connections, entries in each state, members on a room's roster and logged events, reached
 * the way the routes and the fanout reach them.
 */
import { randomUUID } from 'node:crypto';
import { fromIdOf } from '../../functions/shared/domain/identity';
import type { EntryEvent } from '../../functions/shared/domain/room-events';
import type {
  Connection,
  ConnectionRegistry,
  Entry,
  EntryStore,
  LogRecord,
  NewEntry,
  RateLimiter,
  RateRule,
  Role,
  RoomLog,
} from '../../functions/shared/ports';
import { logRoomEvent, toLogEvent } from '../../functions/shared/use-cases/log-room-event';
import type { RateBudget } from '../../functions/shared/use-cases/room-membership';
import { joinedOf, leftOf, messageOf } from './sqs-events';
import { connectionIdFor } from './ws-events';

export interface ChatPorts {
  registry: ConnectionRegistry;
  entries: EntryStore;
  log: RoomLog;
}

export async function registerConnection(
  ports: Pick<ChatPorts, 'registry'>,
  label: string,
  role: Role = 'user',
  displayName?: string,
): Promise<Connection> {
  const connection: Connection = {
    connectionId: connectionIdFor(label),
    role,
    principalId: role,
    connectedAt: Date.now(),
    ...(displayName === undefined ? {} : { displayName }),
  };
  await ports.registry.putConnection(connection);
  return connection;
}

/** A new entry of the connection into the room (what enterroom reserves). */
export function newEntry(connectionId: string, roomId: string, nickname: string): NewEntry {
  return { connectionId, roomId, entryId: randomUUID(), nickname, fromId: fromIdOf({}, connectionId) };
}

async function current(entries: EntryStore, entry: NewEntry): Promise<Entry> {
  const found = await entries.get(entry.connectionId, entry.roomId);
  if (found?.entryId !== entry.entryId) throw new Error(`arrange: entry ${entry.entryId} is not current`);
  return found;
}

/** An entry reserved by enterroom, its `joined` not yet queued. */
export async function reservedEntry(
  ports: Pick<ChatPorts, 'entries'>,
  connectionId: string,
  roomId: string,
  nickname: string,
): Promise<Entry> {
  const entry = newEntry(connectionId, roomId, nickname);
  await ports.entries.reserve(entry);
  return current(ports.entries, entry);
}

/** An entry whose `joined` is queued, not yet logged (not on the roster). */
export async function queuedEntry(
  ports: Pick<ChatPorts, 'entries'>,
  connectionId: string,
  roomId: string,
  nickname: string,
): Promise<Entry> {
  const entry = await reservedEntry(ports, connectionId, roomId, nickname);
  await ports.entries.markQueued(entry);
  return current(ports.entries, entry);
}

/** Logs an entry's event as the fanout does (the room's sequencer); returns its seq. */
export async function logged(ports: Pick<ChatPorts, 'entries' | 'log'>, event: EntryEvent): Promise<number> {
  const outcome = await logRoomEvent(ports, event);
  if (outcome.kind !== 'logged') throw new Error(`arrange: ${event.kind} was dropped (${outcome.reason})`);
  return outcome.seq;
}

/** Enters the connection into the room as a member: queued, and its `joined` logged. */
export async function enterAs(
  ports: Pick<ChatPorts, 'entries' | 'log'>,
  connectionId: string,
  roomId: string,
  nickname: string,
): Promise<Entry> {
  const entry = await queuedEntry(ports, connectionId, roomId, nickname);
  await logged(ports, joinedOf(entry));
  return current(ports.entries, entry);
}

/** Registers a connection named `nickname` and makes it a member of each of `roomIds`. */
export async function memberOf(
  ports: ChatPorts,
  nickname: string,
  ...roomIds: string[]
): Promise<{ connectionId: string; entries: Entry[] }> {
  const { connectionId } = await registerConnection(ports, nickname);
  const entries: Entry[] = [];
  for (const roomId of roomIds) entries.push(await enterAs(ports, connectionId, roomId, nickname));
  return { connectionId, entries };
}

/** The only entry `memberOf` made (for a member of one room). */
export async function memberOfRoom(ports: ChatPorts, nickname: string, roomId: string): Promise<Entry> {
  const { entries } = await memberOf(ports, nickname, roomId);
  const [entry] = entries;
  if (!entry) throw new Error('arrange: no entry');
  return entry;
}

/** An active entry whose exit began (`leaving`; exited too when `queued`: its `left` is queued). */
export async function exitingEntry(
  ports: Pick<ChatPorts, 'entries'>,
  entry: Entry,
  state: 'leaving' | 'exited' = 'leaving',
): Promise<Entry> {
  const leaving = await ports.entries.beginExit(entry);
  if (state === 'exited') await ports.entries.markExited(leaving);
  return current(ports.entries, entry);
}

/** Logs messages of a member as the fanout does; returns their seqs. */
export async function loggedMessages(
  ports: Pick<ChatPorts, 'entries' | 'log'>,
  entry: NewEntry,
  ...texts: string[]
): Promise<number[]> {
  const seqs: number[] = [];
  for (const text of texts) seqs.push(await logged(ports, messageOf(entry, text)));
  return seqs;
}

/** The log record of `event` at `seq`, as the sequencer appends it. */
export const recordOf = (event: EntryEvent, seq: number): LogRecord => ({
  seq,
  eventId: event.id,
  event: toLogEvent(event, seq),
});

/** The nicknames on a room's roster (who receives its events), sorted. */
export async function nicknamesIn(log: RoomLog, roomId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of log.roster(roomId)) names.push(...page.map((m) => m.nickname));
  return names.sort();
}

/** A budget with room to spare unless told otherwise. */
export function budgetOf(
  limiter: RateLimiter,
  rules: Partial<Record<'send' | 'control', RateRule>> = {},
): RateBudget {
  return {
    limiter,
    rules: {
      send: rules.send ?? { limit: 1000, windowSeconds: 10 },
      control: rules.control ?? { limit: 1000, windowSeconds: 10 },
    },
  };
}

export { joinedOf, leftOf, messageOf };
