/**
 * An in-memory ConnectionStore: our port, implemented with the same semantics as the
 * DynamoDB adapter (the shared contract suite in tests/integration runs against both, so
 * this one is proven faithful). Use-case unit tests run on it without any network.
 *
 * Mirrored details: TTL stamps on every record, expired memberships filtered from
 * `roomMembers` only, members ordered by connection id and rooms by room id (sort keys),
 * pages split before filtering, `allConnections` per shard, the fixed send window, and
 * the error precedence of the enter-room transaction.
 */

import {
  CONNECTION_SHARDS,
  CONNECTION_TTL_SECONDS,
  type MemberState,
  shardOf,
} from '../../functions/shared/adapters/dynamodb-connection-store';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  NotInRoomError,
} from '../../functions/shared/domain/errors';
import { nicknameKey } from '../../functions/shared/domain/rules';
import type { Connection, ConnectionStore, Membership } from '../../functions/shared/ports';

interface ConnectionRecord {
  connection: Connection;
  ttl: number;
  sendWindow?: number;
  sendCount?: number;
}

interface MembershipRecord {
  membership: Membership;
  ttl: number;
}

/** The room's side of a membership (the adapter's member item), with its roster state. */
interface RosterRecord {
  membership: Membership;
  ttl: number;
  state: MemberState;
}

interface NicknameRecord {
  connectionId: string;
  ttl: number;
}

type Method = keyof ConnectionStore;

export interface InMemoryConnectionStoreOptions {
  now?: () => Date;
  /** Items per page of `roomMembers` / `allConnections` (DynamoDB pages by size: 1 MB). */
  pageSize?: number;
}

export interface StoreSnapshot {
  connections: Record<string, ConnectionRecord>;
  memberships: Record<string, MembershipRecord>;
  roster: Record<string, RosterRecord>;
  nicknames: Record<string, NicknameRecord>;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const membershipKey = (connectionId: string, roomId: string) => `${connectionId}\0${roomId}`;
const nicknameSlot = (roomId: string, nickname: string) => `${roomId}\0${nicknameKey(nickname)}`;

export class InMemoryConnectionStore implements ConnectionStore {
  private readonly connections = new Map<string, ConnectionRecord>();
  private readonly memberships = new Map<string, MembershipRecord>();
  private readonly roster = new Map<string, RosterRecord>();
  private readonly nicknames = new Map<string, NicknameRecord>();
  private readonly failures = new Map<Method, unknown[]>();
  private readonly now: () => Date;
  private readonly pageSize: number;
  /** Every port method called, in order (for asserting what a use case did). */
  readonly calls: Method[] = [];

  constructor(options: InMemoryConnectionStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.pageSize = Math.max(1, options.pageSize ?? 100);
  }

  /** Makes the next call of `method` reject with `error` (queue several for several calls). */
  failNext(method: Method, error: unknown = new Error(`${method} failed (scripted)`)): this {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
    return this;
  }

  /** A deep copy of the whole state, for "changes no state" assertions. */
  snapshot(): StoreSnapshot {
    return structuredClone({
      connections: Object.fromEntries(this.connections),
      memberships: Object.fromEntries(this.memberships),
      roster: Object.fromEntries(this.roster),
      nicknames: Object.fromEntries(this.nicknames),
    });
  }

  private enter(method: Method): void {
    this.calls.push(method);
    const scripted = this.failures.get(method)?.shift();
    if (scripted !== undefined) throw scripted;
  }

  private nowSeconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  private expiry(): number {
    return this.nowSeconds() + CONNECTION_TTL_SECONDS;
  }

  async putConnection(connection: Connection): Promise<void> {
    this.enter('putConnection');
    // A PutItem replaces the whole item, send window included.
    this.connections.set(connection.connectionId, { connection: { ...connection }, ttl: this.expiry() });
  }

  async getConnection(connectionId: string): Promise<Connection | undefined> {
    this.enter('getConnection');
    const record = this.connections.get(connectionId);
    return record ? { ...record.connection } : undefined;
  }

  async enterRoom(membership: Membership): Promise<string[]> {
    this.enter('enterRoom');
    const { connectionId, roomId, nickname } = membership;
    if (!this.connections.has(connectionId)) throw new ConnectionNotFoundError();
    if (this.memberships.has(membershipKey(connectionId, roomId))) throw new AlreadyInRoomError(roomId);
    const reservation = this.nicknames.get(nicknameSlot(roomId, nickname));
    // An expired reservation is free (the adapter's condition: attribute_not_exists OR ttl < now).
    if (reservation && reservation.ttl >= this.nowSeconds()) throw new NicknameTakenError(nickname, roomId);
    const ttl = this.expiry();
    this.memberships.set(membershipKey(connectionId, roomId), { membership: { ...membership }, ttl });
    this.roster.set(membershipKey(connectionId, roomId), {
      membership: { ...membership },
      ttl,
      state: 'joining',
    });
    this.nicknames.set(nicknameSlot(roomId, nickname), { connectionId, ttl });
    const members: string[] = [];
    for (const page of this.liveMemberPages(roomId, 'leaving')) members.push(...page.map((m) => m.nickname));
    return members;
  }

  async undoEnter(membership: Membership): Promise<void> {
    this.enter('undoEnter');
    this.deleteMembership(membership);
  }

  async activateMember(roomId: string, connectionId: string): Promise<void> {
    this.enter('activateMember');
    const record = this.roster.get(membershipKey(connectionId, roomId));
    if (record?.state === 'joining') record.state = 'active';
  }

  async forgetMember(roomId: string, connectionId: string): Promise<void> {
    this.enter('forgetMember');
    if (this.roster.get(membershipKey(connectionId, roomId))?.state === 'leaving') {
      this.roster.delete(membershipKey(connectionId, roomId));
    }
  }

  async exitRoom(connectionId: string, roomId: string, _known?: Membership): Promise<Membership> {
    this.enter('exitRoom');
    const record = this.memberships.get(membershipKey(connectionId, roomId));
    if (!record) throw new NotInRoomError(roomId);
    const slot = nicknameSlot(roomId, record.membership.nickname);
    const reservation = this.nicknames.get(slot);
    // The adapter's transaction refuses to free a nickname that is someone else's.
    if (reservation && reservation.connectionId !== connectionId) throw new NotInRoomError(roomId);
    this.memberships.delete(membershipKey(connectionId, roomId));
    this.nicknames.delete(slot);
    const member = this.roster.get(membershipKey(connectionId, roomId));
    if (member) member.state = 'leaving';
    return { ...record.membership };
  }

  async getMembership(connectionId: string, roomId: string): Promise<Membership | undefined> {
    this.enter('getMembership');
    const record = this.memberships.get(membershipKey(connectionId, roomId));
    return record ? { ...record.membership } : undefined;
  }

  async listMemberships(connectionId: string): Promise<Membership[]> {
    this.enter('listMemberships');
    return this.membershipsOf(connectionId).map((m) => ({ ...m }));
  }

  async *roomMembers(roomId: string): AsyncIterable<Membership[]> {
    this.enter('roomMembers');
    for (const page of this.liveMemberPages(roomId, 'joining')) yield page;
  }

  async *allConnections(): AsyncIterable<string[]> {
    this.enter('allConnections');
    for (let shard = 0; shard < CONNECTION_SHARDS; shard++) {
      const ids = [...this.connections.keys()].filter((id) => shardOf(id) === shard).sort(byKey);
      for (let start = 0; start < ids.length; start += this.pageSize) {
        yield ids.slice(start, start + this.pageSize);
      }
    }
  }

  async removeConnection(connectionId: string, known?: Membership[]): Promise<Membership[]> {
    this.enter('removeConnection');
    const memberships = known ?? this.membershipsOf(connectionId);
    for (const m of memberships) this.deleteMembership(m);
    this.connections.delete(connectionId);
    return memberships.map((m) => ({ ...m }));
  }

  async takeSendToken(
    connectionId: string,
    limit: number,
    windowSeconds: number,
    now: Date,
  ): Promise<boolean> {
    this.enter('takeSendToken');
    const record = this.connections.get(connectionId);
    if (!record) return false;
    const window = Math.floor(now.getTime() / 1000 / windowSeconds) * windowSeconds;
    if (record.sendWindow === window && (record.sendCount ?? 0) < limit) {
      record.sendCount = (record.sendCount ?? 0) + 1;
      return true;
    }
    if (record.sendWindow === undefined || record.sendWindow < window) {
      record.sendWindow = window;
      record.sendCount = 1;
      return true;
    }
    return false;
  }

  private membershipsOf(connectionId: string): Membership[] {
    return [...this.memberships.values()]
      .map((r) => r.membership)
      .filter((m) => m.connectionId === connectionId)
      .sort((a, b) => byKey(a.roomId, b.roomId));
  }

  /** Every item of a membership; the nickname only while it is this connection's. */
  private deleteMembership({ connectionId, roomId, nickname }: Membership): void {
    this.memberships.delete(membershipKey(connectionId, roomId));
    this.roster.delete(membershipKey(connectionId, roomId));
    const slot = nicknameSlot(roomId, nickname);
    if (this.nicknames.get(slot)?.connectionId === connectionId) this.nicknames.delete(slot);
  }

  /** Pages are cut before the TTL and state filter, as a DynamoDB Query with a FilterExpression does. */
  private *liveMemberPages(roomId: string, excluded: MemberState): Generator<Membership[]> {
    const now = this.nowSeconds();
    const records = [...this.roster.values()]
      .filter((r) => r.membership.roomId === roomId)
      .sort((a, b) => byKey(a.membership.connectionId, b.membership.connectionId));
    for (let start = 0; start < records.length; start += this.pageSize) {
      const page = records
        .slice(start, start + this.pageSize)
        .filter((r) => r.ttl > now && r.state !== excluded)
        .map((r) => ({ ...r.membership }));
      if (page.length > 0) yield page;
    }
  }
}
