/**
 * EntryStore on the in-memory chat table: every method checks the same conditions as the
 * DynamoDB adapter's conditional writes (adapters/dynamodb/entry-store.ts) and, where the
 * adapter makes two requests, lets other work run between them.
 */
import { CANCELLED_TTL_SECONDS } from '../../../functions/shared/adapters/dynamodb/table-layout';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  NotInRoomError,
} from '../../../functions/shared/domain/errors';
import type { Entry, EntryState, EntryStore, NewEntry } from '../../../functions/shared/ports';
import { byKey, InMemoryChatTable, nextRequest, Scripted } from './chat-table';

const { cancelledKey, entryKey, nicknameKey } = InMemoryChatTable;

export class InMemoryEntryStore extends Scripted<keyof EntryStore> implements EntryStore {
  constructor(private readonly table: InMemoryChatTable) {
    super();
  }

  async reserve(entry: NewEntry): Promise<void> {
    await this.enter('reserve');
    const now = this.table.now();
    const nowSeconds = this.table.nowSeconds();
    // The transaction's three conditions, reported in item order as the adapter maps them.
    if (!this.table.connections.has(entry.connectionId)) throw new ConnectionNotFoundError();
    const previous = this.table.entries.get(entryKey(entry.connectionId, entry.roomId))?.entry;
    if (previous && previous.state !== 'exited') throw new AlreadyInRoomError(entry.roomId);
    const held = this.table.nicknames.get(nicknameKey(entry.roomId, entry.nickname));
    if (held && held.ttl >= nowSeconds && held.connectionId !== entry.connectionId) {
      throw new NicknameTakenError(entry.nickname, entry.roomId);
    }
    const ttl = this.table.connectionExpiry();
    this.table.entries.set(entryKey(entry.connectionId, entry.roomId), {
      entry: { ...copyNew(entry), state: 'reserved', updatedAt: now.getTime() },
      ttl,
    });
    this.table.nicknames.set(nicknameKey(entry.roomId, entry.nickname), {
      connectionId: entry.connectionId,
      roomId: entry.roomId,
      entryId: entry.entryId,
      nickname: entry.nickname,
      ttl,
    });
  }

  /** The adapter's conditional update: this entry, in one of `from`, moves to `to`. */
  private move(
    entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId'>,
    from: EntryState[],
    to: EntryState,
    leftFrom?: EntryState,
  ): boolean {
    const item = this.table.entries.get(entryKey(entry.connectionId, entry.roomId));
    if (!item || item.entry.entryId !== entry.entryId || !from.includes(item.entry.state)) return false;
    item.entry.state = to;
    item.entry.updatedAt = this.table.now().getTime();
    if (leftFrom !== undefined) item.leftFrom = leftFrom;
    return true;
  }

  async markQueued(entry: Entry | NewEntry): Promise<'queued' | 'active' | 'superseded'> {
    await this.enter('markQueued');
    if (this.move(entry, ['reserved'], 'queued')) return 'queued';
    await nextRequest();
    const now = this.read(entry.connectionId, entry.roomId);
    return now?.entryId === entry.entryId && now.state !== 'reserved' ? 'active' : 'superseded';
  }

  /** Deletes a reserved entry and leaves proof of it in one step (the adapter's transaction). */
  async cancel(entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>): Promise<boolean> {
    await this.enter('cancel');
    const key = entryKey(entry.connectionId, entry.roomId);
    const item = this.table.entries.get(key);
    if (item?.entry.entryId !== entry.entryId || item.entry.state !== 'reserved') {
      await nextRequest();
      return this.table.cancelled.has(cancelledKey(entry.connectionId, entry.entryId));
    }
    this.table.entries.delete(key);
    this.table.cancelled.set(cancelledKey(entry.connectionId, entry.entryId), {
      ttl: this.table.nowSeconds() + CANCELLED_TTL_SECONDS,
    });
    await nextRequest();
    this.release(entry);
    return true;
  }

  async wasCancelled(connectionId: string, entryId: string): Promise<boolean> {
    await this.enter('wasCancelled');
    return this.table.cancelled.has(cancelledKey(connectionId, entryId));
  }

  async beginExit(entry: Entry): Promise<Entry> {
    await this.enter('beginExit');
    const item = this.table.entries.get(entryKey(entry.connectionId, entry.roomId));
    if (!this.move(entry, ['queued', 'active'], 'leaving', item?.entry.state)) {
      throw new NotInRoomError(entry.roomId);
    }
    return { ...entry, state: 'leaving', updatedAt: this.table.now().getTime() };
  }

  async undoExit(entry: Entry): Promise<boolean> {
    await this.enter('undoExit');
    const item = this.table.entries.get(entryKey(entry.connectionId, entry.roomId));
    if (item?.entry.entryId !== entry.entryId || item.entry.state !== 'leaving') return false;
    if (item.leftFrom === undefined)
      throw new Error('undoExit: the entry has no leftFrom (ValidationException)');
    item.entry.state = item.leftFrom;
    item.entry.updatedAt = this.table.now().getTime();
    delete item.leftFrom;
    return true;
  }

  async markExited(entry: Entry): Promise<void> {
    await this.enter('markExited');
    this.move(entry, ['leaving'], 'exited');
  }

  async get(connectionId: string, roomId: string): Promise<Entry | undefined> {
    await this.enter('get');
    return this.read(connectionId, roomId);
  }

  async list(connectionId: string): Promise<Entry[]> {
    await this.enter('list');
    return [...this.table.entries.values()]
      .map((item) => ({ ...item.entry }))
      .filter((entry) => entry.connectionId === connectionId)
      .sort((a, b) => byKey(a.roomId, b.roomId));
  }

  async releaseNickname(entry: Pick<Entry, 'roomId' | 'entryId' | 'nickname'>): Promise<void> {
    await this.enter('releaseNickname');
    this.release(entry);
  }

  async discardExited(entry: Pick<Entry, 'connectionId' | 'roomId' | 'entryId' | 'nickname'>): Promise<void> {
    await this.enter('discardExited');
    const key = entryKey(entry.connectionId, entry.roomId);
    const item = this.table.entries.get(key);
    if (item?.entry.entryId !== entry.entryId) return;
    if (item.entry.state !== 'leaving' && item.entry.state !== 'exited') return;
    this.table.entries.delete(key);
    await nextRequest();
    this.release(entry);
  }

  private read(connectionId: string, roomId: string): Entry | undefined {
    const item = this.table.entries.get(entryKey(connectionId, roomId));
    return item ? { ...item.entry } : undefined;
  }

  /** Deletes the nickname item if this entry still holds it. */
  private release(entry: Pick<Entry, 'roomId' | 'entryId' | 'nickname'>): void {
    const key = nicknameKey(entry.roomId, entry.nickname);
    if (this.table.nicknames.get(key)?.entryId === entry.entryId) this.table.nicknames.delete(key);
  }
}

/** Only the fields an entry item stores (a caller may pass an object with more). */
function copyNew(entry: NewEntry): NewEntry {
  const { connectionId, roomId, entryId, nickname, fromId } = entry;
  return { connectionId, roomId, entryId, nickname, fromId };
}
