/**
 * The ConnectionStore contract as a reusable Jest suite. tests/integration runs it against
 * the DynamoDB adapter (on DynamoDB Local) and against the in-memory store, which is how the
 * in-memory store the use-case tests rely on is proven faithful.
 */

import {
  CONNECTION_SHARDS,
  CONNECTION_TTL_SECONDS,
  shardOf,
} from '../../functions/shared/adapters/dynamodb-connection-store';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  NotInRoomError,
} from '../../functions/shared/domain/errors';
import type { Connection, ConnectionStore, Membership, Role } from '../../functions/shared/ports';
import { connectionIdFor } from './ws-events';

export interface ContractSubject {
  /** A store over empty state whose clock is `now`. */
  create(now: () => Date): Promise<ConnectionStore>;
  /**
   * Makes the given room's member list span more than one page of `roomMembers` (e.g. a small
   * page size, or item sizes past DynamoDB's 1 MB page); called after the members entered.
   */
  spreadOverPages(store: ConnectionStore, roomId: string, connectionIds: string[]): Promise<void>;
}

export async function collect<T>(pages: AsyncIterable<T[]>): Promise<{ pages: number; items: T[] }> {
  let count = 0;
  const items: T[] = [];
  for await (const page of pages) {
    count += 1;
    items.push(...page);
  }
  return { pages: count, items };
}

export function describeConnectionStoreContract(name: string, subject: ContractSubject): void {
  describe(`${name} (ConnectionStore contract)`, () => {
    const T0 = new Date('2030-01-01T12:00:00.000Z');
    let now: Date;
    let store: ConnectionStore;

    beforeEach(async () => {
      now = T0;
      store = await subject.create(() => now);
    });

    async function connected(label: string, role: Role = 'user'): Promise<Connection> {
      const connection = {
        connectionId: connectionIdFor(label),
        role,
        principalId: role,
        connectedAt: 1_700_000,
      };
      await store.putConnection(connection);
      return connection;
    }

    /** A receiving member: entered, and activated as the fanout does on its `joined` event. */
    async function member(label: string, roomId: string, nickname = label): Promise<Membership> {
      const { connectionId } = await connected(label);
      const membership = { connectionId, roomId, nickname };
      await store.enterRoom(membership);
      await store.activateMember(roomId, connectionId);
      return membership;
    }

    const roster = async (roomId: string) =>
      (await collect(store.roomMembers(roomId))).items.map((m) => m.nickname).sort();

    describe('connections', () => {
      it('returns a registered connection with its role, principal and connect time', async () => {
        const connection = await connected('mikki', 'admin');

        await expect(store.getConnection(connection.connectionId)).resolves.toEqual(connection);
      });

      it("keeps the signed-in user's sub (as principal) and display name with the connection", async () => {
        const connection = {
          connectionId: connectionIdFor('signed-in'),
          role: 'user' as const,
          principalId: '7d3c1c1e-0b1a-4f7e-9c55-2f1f4f1d9a10',
          connectedAt: 1_700_000,
          displayName: 'Mikki Hiiri',
        };
        await store.putConnection(connection);

        await expect(store.getConnection(connection.connectionId)).resolves.toEqual(connection);
      });

      it('returns undefined for a connection that was never registered', async () => {
        await expect(store.getConnection('never-seen=')).resolves.toBeUndefined();
      });

      it('registers a connection once however often it is put', async () => {
        const connection = await connected('aku');
        await store.putConnection(connection);

        const { items } = await collect(store.allConnections());

        expect(items.filter((id) => id === connection.connectionId)).toHaveLength(1);
      });
    });

    describe('entering a room', () => {
      it('returns every nickname now in the room, the newcomer included', async () => {
        await member('Mikki', 'r1');
        await member('Aku', 'r1');
        const { connectionId } = await connected('Hessu');

        const members = await store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Hessu' });

        expect([...members].sort()).toEqual(['Aku', 'Hessu', 'Mikki']);
      });

      it('refuses a nickname already taken in the room', async () => {
        await member('Mikki', 'r1');
        const { connectionId } = await connected('other');

        await expect(
          store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki' }),
        ).rejects.toBeInstanceOf(NicknameTakenError);
      });

      it('treats nicknames that differ only in case or width as the same', async () => {
        await member('Mikki', 'r1');
        const a = await connected('a');
        const b = await connected('b');

        await expect(
          store.enterRoom({ connectionId: a.connectionId, roomId: 'r1', nickname: 'MIKKI' }),
        ).rejects.toBeInstanceOf(NicknameTakenError);
        await expect(
          store.enterRoom({ connectionId: b.connectionId, roomId: 'r1', nickname: 'ｍｉｋｋｉ' }),
        ).rejects.toBeInstanceOf(NicknameTakenError);
      });

      it('allows the same nickname in another room', async () => {
        await member('Mikki', 'r1');
        const { connectionId } = await connected('other');

        await expect(store.enterRoom({ connectionId, roomId: 'r2', nickname: 'Mikki' })).resolves.toEqual([
          'Mikki',
        ]);
      });

      it('refuses a second entry into the same room, even under another nickname', async () => {
        const { connectionId } = await member('Mikki', 'r1');

        await expect(
          store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki2' }),
        ).rejects.toBeInstanceOf(AlreadyInRoomError);
        await expect(store.getMembership(connectionId, 'r1')).resolves.toEqual({
          connectionId,
          roomId: 'r1',
          nickname: 'Mikki',
        });
      });

      it('refuses a connection that is not registered and leaves nothing behind', async () => {
        const connectionId = connectionIdFor('ghost');

        await expect(
          store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Ghost' }),
        ).rejects.toBeInstanceOf(ConnectionNotFoundError);
        await expect(store.getMembership(connectionId, 'r1')).resolves.toBeUndefined();
        expect((await collect(store.roomMembers('r1'))).items).toEqual([]);
      });

      it('leaves no membership behind when the nickname is taken', async () => {
        await member('Mikki', 'r1');
        const { connectionId } = await connected('other');

        await store.enterRoom({ connectionId, roomId: 'r1', nickname: 'mikki' }).catch(() => undefined);

        await expect(store.listMemberships(connectionId)).resolves.toEqual([]);
        expect((await collect(store.roomMembers('r1'))).items.map((m) => m.nickname)).toEqual(['Mikki']);
      });

      it('lets a nickname be taken again once its holder has expired (a lost $disconnect)', async () => {
        await member('Mikki', 'r1');
        now = new Date(T0.getTime() + (CONNECTION_TTL_SECONDS + 1) * 1000);
        const { connectionId } = await connected('next');

        const members = await store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki' });
        await store.activateMember('r1', connectionId);

        expect(members).toEqual(['Mikki']);
        expect((await collect(store.roomMembers('r1'))).items).toEqual([
          { connectionId, roomId: 'r1', nickname: 'Mikki' },
        ]);
      });

      it('gives a contested nickname to exactly one of several racing connections', async () => {
        const racers = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((label) => connected(label)));

        const outcomes = await Promise.allSettled(
          racers.map((r) =>
            store.enterRoom({ connectionId: r.connectionId, roomId: 'r1', nickname: 'Roope' }),
          ),
        );

        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(rejected.every((o) => o.reason instanceof NicknameTakenError)).toBe(true);
        for (const r of racers) await store.activateMember('r1', r.connectionId);
        expect((await collect(store.roomMembers('r1'))).items).toHaveLength(1);
      });
    });

    describe('exiting a room', () => {
      it('returns the membership it removed and takes the member out of the room', async () => {
        const mikki = await member('Mikki', 'r1');
        await member('Aku', 'r1');

        await expect(store.exitRoom(mikki.connectionId, 'r1')).resolves.toEqual(mikki);

        await expect(store.getMembership(mikki.connectionId, 'r1')).resolves.toBeUndefined();
        await expect(store.listMemberships(mikki.connectionId)).resolves.toEqual([]);
      });

      it('keeps the leaver on the delivery roster until it is forgotten', async () => {
        const mikki = await member('Mikki', 'r1');
        await member('Aku', 'r1');

        await store.exitRoom(mikki.connectionId, 'r1');
        expect(await roster('r1')).toEqual(['Aku', 'Mikki']);

        await store.forgetMember('r1', mikki.connectionId);
        expect(await roster('r1')).toEqual(['Aku']);
      });

      it('does not count a leaver among the members a newcomer is told about', async () => {
        const mikki = await member('Mikki', 'r1');
        await store.exitRoom(mikki.connectionId, 'r1');
        const { connectionId } = await connected('aku');

        await expect(store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Aku' })).resolves.toEqual([
          'Aku',
        ]);
      });

      it('frees the nickname for someone else', async () => {
        const mikki = await member('Mikki', 'r1');
        await store.exitRoom(mikki.connectionId, 'r1');
        const { connectionId } = await connected('next');

        await expect(store.enterRoom({ connectionId, roomId: 'r1', nickname: 'mikki' })).resolves.toEqual([
          'mikki',
        ]);
      });

      it('refuses to exit a room the connection is not in', async () => {
        const { connectionId } = await member('Mikki', 'r1');

        await expect(store.exitRoom(connectionId, 'r2')).rejects.toBeInstanceOf(NotInRoomError);
      });

      it('keeps the connection in its other rooms', async () => {
        const mikki = await member('Mikki', 'r1');
        await store.enterRoom({ connectionId: mikki.connectionId, roomId: 'r2', nickname: 'Mikki' });

        await store.exitRoom(mikki.connectionId, 'r1');

        await expect(store.listMemberships(mikki.connectionId)).resolves.toEqual([
          { connectionId: mikki.connectionId, roomId: 'r2', nickname: 'Mikki' },
        ]);
      });
    });

    describe('memberships', () => {
      it('lists every room of a connection and only its own', async () => {
        const mikki = await member('Mikki', 'r1');
        await store.enterRoom({ connectionId: mikki.connectionId, roomId: 'r2', nickname: 'Mikki M' });
        await member('Aku', 'r1');

        const memberships = await store.listMemberships(mikki.connectionId);

        expect(memberships.sort((a, b) => a.roomId.localeCompare(b.roomId))).toEqual([
          { connectionId: mikki.connectionId, roomId: 'r1', nickname: 'Mikki' },
          { connectionId: mikki.connectionId, roomId: 'r2', nickname: 'Mikki M' },
        ]);
      });

      it('returns undefined for a room the connection is not in', async () => {
        const { connectionId } = await member('Mikki', 'r1');

        await expect(store.getMembership(connectionId, 'r2')).resolves.toBeUndefined();
      });

      it('lists no memberships for an unknown connection', async () => {
        await expect(store.listMemberships('nobody=')).resolves.toEqual([]);
      });
    });

    describe('delivery roster', () => {
      it('leaves a newcomer off the roster until it is activated, but counts it as a member', async () => {
        await member('Mikki', 'r1');
        const { connectionId } = await connected('aku');

        await expect(store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Aku' })).resolves.toEqual(
          expect.arrayContaining(['Aku', 'Mikki']),
        );
        expect(await roster('r1')).toEqual(['Mikki']);

        await store.activateMember('r1', connectionId);
        expect(await roster('r1')).toEqual(['Aku', 'Mikki']);
      });

      it('ignores activating or forgetting a member that is not in that state', async () => {
        const mikki = await member('Mikki', 'r1');

        await store.forgetMember('r1', mikki.connectionId);
        await store.activateMember('r1', 'nobody=');
        await store.forgetMember('r1', 'nobody=');

        expect(await roster('r1')).toEqual(['Mikki']);
      });

      it('treats a re-entry before the exit was forgotten as a new, not yet receiving, member', async () => {
        const mikki = await member('Mikki', 'r1');
        await store.exitRoom(mikki.connectionId, 'r1');

        await store.enterRoom(mikki);
        await store.forgetMember('r1', mikki.connectionId);
        expect(await roster('r1')).toEqual([]);

        await store.activateMember('r1', mikki.connectionId);
        expect(await roster('r1')).toEqual(['Mikki']);
      });

      it('undoes an entry completely, freeing the nickname', async () => {
        const { connectionId } = await connected('mikki');
        await store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki' });

        await store.undoEnter({ connectionId, roomId: 'r1', nickname: 'Mikki' });

        await expect(store.getMembership(connectionId, 'r1')).resolves.toBeUndefined();
        await store.activateMember('r1', connectionId);
        expect(await roster('r1')).toEqual([]);
        const other = await connected('other');
        await expect(
          store.enterRoom({ connectionId: other.connectionId, roomId: 'r1', nickname: 'mikki' }),
        ).resolves.toEqual(['mikki']);
      });
    });

    describe('room members', () => {
      it('yields nothing for a room nobody is in', async () => {
        await expect(collect(store.roomMembers('empty'))).resolves.toEqual({ pages: 0, items: [] });
      });

      it('pages through a room larger than one page and yields every member exactly once', async () => {
        const joined: Membership[] = [];
        for (const label of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'])
          joined.push(await member(label, 'big'));
        await member('outsider', 'other');
        await subject.spreadOverPages(
          store,
          'big',
          joined.map((m) => m.connectionId),
        );

        const { pages, items } = await collect(store.roomMembers('big'));

        expect(pages).toBeGreaterThan(1);
        expect(items.sort((a, b) => a.nickname.localeCompare(b.nickname))).toEqual(joined);
      });

      it('leaves out memberships whose TTL has passed', async () => {
        await member('Old', 'r1');
        now = new Date(T0.getTime() + 60 * 60 * 1000);
        await member('New', 'r1');

        now = new Date(T0.getTime() + (CONNECTION_TTL_SECONDS + 1) * 1000);
        const { items } = await collect(store.roomMembers('r1'));

        expect(items.map((m) => m.nickname)).toEqual(['New']);
      });
    });

    describe('all connections', () => {
      it('yields every registered connection exactly once, across all shards', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3 * CONNECTION_SHARDS; i++) ids.push((await connected(`c${i}`)).connectionId);
        expect(new Set(ids.map(shardOf)).size).toBeGreaterThan(1);

        const { items } = await collect(store.allConnections());

        expect([...items].sort()).toEqual([...ids].sort());
      });
    });

    describe('removing a connection', () => {
      it('returns its memberships and deletes the connection, its memberships and its nicknames', async () => {
        const mikki = await member('Mikki', 'r1');
        await store.enterRoom({ connectionId: mikki.connectionId, roomId: 'r2', nickname: 'Mikki' });
        await store.activateMember('r2', mikki.connectionId);
        const aku = await member('Aku', 'r1');

        const removed = await store.removeConnection(mikki.connectionId);

        expect(removed.map((m) => m.roomId).sort()).toEqual(['r1', 'r2']);
        await expect(store.getConnection(mikki.connectionId)).resolves.toBeUndefined();
        await expect(store.listMemberships(mikki.connectionId)).resolves.toEqual([]);
        expect((await collect(store.roomMembers('r1'))).items).toEqual([aku]);
        expect((await collect(store.roomMembers('r2'))).items).toEqual([]);
        expect((await collect(store.allConnections())).items).not.toContain(mikki.connectionId);
        const { connectionId } = await connected('next');
        await expect(
          store.enterRoom({ connectionId, roomId: 'r1', nickname: 'Mikki' }),
        ).resolves.toHaveLength(2);
      });

      it('does nothing for a connection that is already gone', async () => {
        await expect(store.removeConnection('already-gone=')).resolves.toEqual([]);
      });
    });

    describe('send tokens', () => {
      const at = (seconds: number) => new Date(Date.UTC(2030, 0, 1, 12, 0, 0) + seconds * 1000);

      it('grants `limit` tokens per window and refuses the next', async () => {
        const { connectionId } = await connected('chatty');

        const granted = [];
        for (let i = 0; i < 4; i++) granted.push(await store.takeSendToken(connectionId, 3, 10, at(i)));

        expect(granted).toEqual([true, true, true, false]);
      });

      it('grants tokens again once the window has passed', async () => {
        const { connectionId } = await connected('chatty');
        for (let i = 0; i < 3; i++) await store.takeSendToken(connectionId, 3, 10, at(1));

        await expect(store.takeSendToken(connectionId, 3, 10, at(10))).resolves.toBe(true);
      });

      it('counts each connection separately', async () => {
        const a = await connected('a');
        const b = await connected('b');
        await store.takeSendToken(a.connectionId, 1, 10, at(0));

        await expect(store.takeSendToken(b.connectionId, 1, 10, at(0))).resolves.toBe(true);
        await expect(store.takeSendToken(a.connectionId, 1, 10, at(0))).resolves.toBe(false);
      });

      it('grants exactly `limit` tokens to concurrent requests', async () => {
        const { connectionId } = await connected('burst');

        const granted = await Promise.all(
          Array.from({ length: 8 }, () => store.takeSendToken(connectionId, 5, 10, at(2))),
        );

        expect(granted.filter(Boolean)).toHaveLength(5);
      });

      it('grants no token to a connection that is not registered', async () => {
        await expect(store.takeSendToken('nobody=', 5, 10, at(0))).resolves.toBe(false);
      });
    });
  });
}
