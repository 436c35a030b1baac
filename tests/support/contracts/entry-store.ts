/**
 * The EntryStore contract: the route side of "who is in a room" (request time). Every rule of
 * ports.ts is a test here, the races included: a route and the fanout never both win a race
 * over one entry.
 */
import { CONNECTION_TTL_SECONDS } from '../../../functions/shared/adapters/dynamodb/table-layout';
import {
  AlreadyInRoomError,
  ConnectionNotFoundError,
  NicknameTakenError,
  NotInRoomError,
} from '../../../functions/shared/domain/errors';
import type { Entry, EntryState, NewEntry } from '../../../functions/shared/ports';
import {
  joinedOf,
  later,
  leftOf,
  newEntry,
  newRoom,
  recordOf,
  registerConnection,
  type StoreSubject,
  type StoreWorld,
  seconds,
  T0,
} from './subject';

export function describeEntryStoreContract(name: string, subject: StoreSubject): void {
  describe(`${name}: EntryStore`, () => {
    let now: Date;
    let world: StoreWorld;
    let room: string;

    beforeEach(async () => {
      now = T0;
      world = await subject.create(() => now, 7);
      room = newRoom();
    });

    /** A registered connection's entry, reserved (not yet queued). */
    async function reserved(label: string, nickname = label, roomId = room): Promise<NewEntry> {
      const { connectionId } = await registerConnection(world, label);
      const entry = newEntry(connectionId, roomId, nickname);
      await world.entries.reserve(entry);
      return entry;
    }

    /** An entry in `state`, reached the way the routes and the fanout reach it. */
    async function inState(state: EntryState, label = 'Mikki', nickname = label): Promise<Entry> {
      const entry = await reserved(label, nickname);
      if (state !== 'reserved') await world.entries.markQueued(entry);
      if (state === 'active' || state === 'leaving' || state === 'exited') await activate(entry, 'queued');
      if (state === 'leaving' || state === 'exited') await world.entries.beginExit(await current(entry));
      if (state === 'exited') await world.entries.markExited(await current(entry));
      return current(entry);
    }

    /** What the fanout does when it logs the entry's `joined`. */
    async function activate(entry: NewEntry, seen: EntryState) {
      const head = await world.log.head(entry.roomId);
      const seq = head.seq + 1;
      const result = await world.log.append(entry.roomId, recordOf(joinedOf(entry), seq), {
        kind: 'join',
        member: {
          connectionId: entry.connectionId,
          entryId: entry.entryId,
          nickname: entry.nickname,
          joinedSeq: seq,
        },
        entryState: seen,
      });
      expect(result).toBe('appended');
    }

    async function current(entry: Pick<Entry, 'connectionId' | 'roomId'>): Promise<Entry> {
      const found = await world.entries.get(entry.connectionId, entry.roomId);
      if (!found) throw new Error('expected an entry');
      return found;
    }

    /** Whether `nickname` is free in the room: another connection can reserve it. */
    async function isFree(nickname: string, roomId = room): Promise<boolean> {
      const other = await registerConnection(world, 'probe');
      try {
        await world.entries.reserve(newEntry(other.connectionId, roomId, nickname));
        return true;
      } catch (error) {
        if (error instanceof NicknameTakenError) return false;
        throw error;
      }
    }

    describe('reserve', () => {
      it('reserves the entry with its id, nickname and sender id, stamped with the time', async () => {
        const entry = await reserved('Mikki');

        await expect(world.entries.get(entry.connectionId, room)).resolves.toEqual({
          ...entry,
          state: 'reserved',
          updatedAt: T0.getTime(),
        });
      });

      it('refuses a connection that is not registered and leaves nothing behind', async () => {
        const entry = newEntry('ghost=', room, 'Ghost');

        await expect(world.entries.reserve(entry)).rejects.toBeInstanceOf(ConnectionNotFoundError);

        await expect(world.entries.get('ghost=', room)).resolves.toBeUndefined();
        await expect(isFree('Ghost')).resolves.toBe(true);
      });

      it('refuses a nickname another connection holds in the room, and leaves no entry behind', async () => {
        await reserved('Mikki');
        const { connectionId } = await registerConnection(world, 'other');

        await expect(world.entries.reserve(newEntry(connectionId, room, 'Mikki'))).rejects.toBeInstanceOf(
          NicknameTakenError,
        );
        await expect(world.entries.list(connectionId)).resolves.toEqual([]);
      });

      it.each([
        ['case', 'Mikki', 'MIKKI'],
        ['width', 'Mikki', 'ｍｉｋｋｉ'],
        ['composition', 'R\u00e9mi', 'Re\u0301mi'],
        ['full case folding (ß and SS)', 'Straße', 'STRASSE'],
        ['capital sharp s (ẞ and ß)', 'STRAẞE', 'Straße'],
        ['final sigma', 'ΣΟΦΟΣ', 'σοφος'],
      ])('treats nicknames that differ only in %s as the same', async (_what, held, asked) => {
        await reserved('holder', held);

        await expect(isFree(asked)).resolves.toBe(false);
      });

      it('allows the same nickname in another room', async () => {
        await reserved('Mikki');
        const { connectionId } = await registerConnection(world, 'other');

        await expect(
          world.entries.reserve(newEntry(connectionId, newRoom(), 'Mikki')),
        ).resolves.toBeUndefined();
      });

      it.each<EntryState>(['reserved', 'queued', 'active', 'leaving'])(
        'refuses a second entry into the room while the first is %s, even under another nickname',
        async (state) => {
          const first = await inState(state);

          await expect(
            world.entries.reserve(newEntry(first.connectionId, room, 'Mikki2')),
          ).rejects.toBeInstanceOf(AlreadyInRoomError);
          await expect(current(first)).resolves.toMatchObject({ entryId: first.entryId, state });
        },
      );

      it('replaces an exited entry of the connection with a new one', async () => {
        const first = await inState('exited');
        const next = newEntry(first.connectionId, room, 'Mikki2');

        await world.entries.reserve(next);

        await expect(current(first)).resolves.toMatchObject({ entryId: next.entryId, state: 'reserved' });
      });

      it('lets the connection take the nickname its exited entry still holds', async () => {
        const first = await inState('exited', 'Mikki');
        const next = newEntry(first.connectionId, room, 'mikki');

        await expect(world.entries.reserve(next)).resolves.toBeUndefined();
        await expect(isFree('Mikki')).resolves.toBe(false);
      });

      it('keeps a reserved entry however old it is (only taking it back frees the room)', async () => {
        const old = await reserved('Mikki');
        now = later(seconds(60 * 60));

        await expect(world.entries.reserve(newEntry(old.connectionId, room, 'Mikki'))).rejects.toBeInstanceOf(
          AlreadyInRoomError,
        );
      });

      it('lets a nickname be taken again once its holder has expired (a lost $disconnect)', async () => {
        await reserved('Mikki');
        now = later(seconds(CONNECTION_TTL_SECONDS + 1));

        await expect(isFree('Mikki')).resolves.toBe(true);
      });

      it('answers a missing connection before anything else', async () => {
        await reserved('Mikki');

        await expect(world.entries.reserve(newEntry('ghost=', room, 'Mikki'))).rejects.toBeInstanceOf(
          ConnectionNotFoundError,
        );
      });

      it('answers already_in_room before nickname_taken', async () => {
        await reserved('Mikki');
        const aku = await reserved('Aku');

        await expect(world.entries.reserve(newEntry(aku.connectionId, room, 'Mikki'))).rejects.toBeInstanceOf(
          AlreadyInRoomError,
        );
      });

      it('gives a contested nickname to exactly one of several racing connections', async () => {
        const racers = await Promise.all(
          ['a', 'b', 'c', 'd', 'e'].map((label) => registerConnection(world, label)),
        );

        const outcomes = await Promise.allSettled(
          racers.map((r) => world.entries.reserve(newEntry(r.connectionId, room, 'Roope'))),
        );

        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const reasons = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
        expect(reasons.every((reason) => reason instanceof NicknameTakenError)).toBe(true);
      });

      it('admits exactly one of two concurrent entries of one connection into a room', async () => {
        const { connectionId } = await registerConnection(world, 'twice');

        const outcomes = await Promise.allSettled([
          world.entries.reserve(newEntry(connectionId, room, 'Eka')),
          world.entries.reserve(newEntry(connectionId, room, 'Toka')),
        ]);

        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({
          reason: expect.any(AlreadyInRoomError),
        });
      });
    });

    describe('markQueued', () => {
      it('moves a reserved entry to queued and answers queued', async () => {
        const entry = await reserved('Mikki');
        now = later(seconds(1));

        await expect(world.entries.markQueued(entry)).resolves.toBe('queued');
        await expect(current(entry)).resolves.toMatchObject({ state: 'queued', updatedAt: now.getTime() });
      });

      it('answers active and leaves the entry active when the fanout logged its joined first', async () => {
        const entry = await reserved('Mikki');
        await activate(entry, 'reserved');

        await expect(world.entries.markQueued(entry)).resolves.toBe('active');
        await expect(current(entry)).resolves.toMatchObject({ state: 'active' });
      });

      it('answers superseded when the entry was taken back', async () => {
        const entry = await reserved('Mikki');
        await world.entries.cancel(entry);

        await expect(world.entries.markQueued(entry)).resolves.toBe('superseded');
        await expect(world.entries.get(entry.connectionId, room)).resolves.toBeUndefined();
      });

      it('answers superseded and leaves the newer entry alone when the entry was replaced', async () => {
        const first = await inState('exited');
        const next = newEntry(first.connectionId, room, 'Mikki');
        await world.entries.reserve(next);

        await expect(world.entries.markQueued(first)).resolves.toBe('superseded');
        await expect(current(next)).resolves.toMatchObject({ entryId: next.entryId, state: 'reserved' });
      });
    });

    describe('cancel and wasCancelled', () => {
      it('takes back a reserved entry, frees its nickname, keeps proof of it and answers true', async () => {
        const entry = await reserved('Mikki');

        await expect(world.entries.cancel(entry)).resolves.toBe(true);

        await expect(world.entries.get(entry.connectionId, room)).resolves.toBeUndefined();
        await expect(world.entries.wasCancelled(entry.connectionId, entry.entryId)).resolves.toBe(true);
        await expect(isFree('Mikki')).resolves.toBe(true);
      });

      it.each<EntryState>(['queued', 'active'])(
        'answers false and keeps a %s entry and its nickname (its joined is queued or logged)',
        async (state) => {
          const entry = await inState(state);

          await expect(world.entries.cancel(entry)).resolves.toBe(false);

          await expect(current(entry)).resolves.toMatchObject({ entryId: entry.entryId, state });
          await expect(world.entries.wasCancelled(entry.connectionId, entry.entryId)).resolves.toBe(false);
          await expect(isFree('Mikki')).resolves.toBe(false);
        },
      );

      it('answers true again for an entry already taken back', async () => {
        const entry = await reserved('Mikki');
        await world.entries.cancel(entry);

        await expect(world.entries.cancel(entry)).resolves.toBe(true);
      });

      it('answers false for an entry that stood, exited and was replaced, and keeps the newer one', async () => {
        const first = await inState('exited', 'Mikki');
        const next = newEntry(first.connectionId, room, 'Mikki');
        await world.entries.reserve(next);

        await expect(world.entries.cancel(first)).resolves.toBe(false);

        await expect(current(next)).resolves.toMatchObject({ entryId: next.entryId });
        await expect(world.entries.wasCancelled(first.connectionId, first.entryId)).resolves.toBe(false);
        await expect(isFree('Mikki')).resolves.toBe(false);
      });

      it('knows no proof for an entry that was never taken back, nor for another connection', async () => {
        const entry = await reserved('Mikki');
        await world.entries.cancel(entry);

        await expect(world.entries.wasCancelled(entry.connectionId, 'never-reserved')).resolves.toBe(false);
        await expect(world.entries.wasCancelled('someone-else=', entry.entryId)).resolves.toBe(false);
      });
    });

    describe('beginExit', () => {
      it.each<EntryState>(['queued', 'active'])(
        'moves a %s entry to leaving and returns it so',
        async (state) => {
          const entry = await inState(state);
          now = later(seconds(5));

          const leaving = await world.entries.beginExit(entry);

          expect(leaving).toEqual({ ...entry, state: 'leaving', updatedAt: now.getTime() });
          await expect(current(entry)).resolves.toEqual(leaving);
        },
      );

      it.each<EntryState>(['reserved', 'leaving', 'exited'])(
        'answers not_in_room for a %s entry and leaves it as it is',
        async (state) => {
          const entry = await inState(state);

          await expect(world.entries.beginExit({ ...entry, state: 'active' })).rejects.toBeInstanceOf(
            NotInRoomError,
          );
          await expect(current(entry)).resolves.toMatchObject({ state });
        },
      );

      it('answers not_in_room for an entry that was replaced or is gone', async () => {
        const entry = await inState('active');

        await expect(world.entries.beginExit({ ...entry, entryId: 'another-entry' })).rejects.toBeInstanceOf(
          NotInRoomError,
        );
        await expect(world.entries.beginExit({ ...entry, roomId: newRoom() })).rejects.toBeInstanceOf(
          NotInRoomError,
        );
      });
    });

    describe('undoExit', () => {
      it.each<EntryState>(['queued', 'active'])(
        'puts a leaving entry back to %s, the state it had, and answers true',
        async (state) => {
          const entry = await inState(state);
          const leaving = await world.entries.beginExit(entry);

          await expect(world.entries.undoExit(leaving)).resolves.toBe(true);
          await expect(current(entry)).resolves.toMatchObject({ entryId: entry.entryId, state });
        },
      );

      it('puts back the state the entry had when its exit began, even if the caller read it earlier', async () => {
        const entry = await inState('queued');
        await activate(entry, 'queued'); // the fanout logged the joined after the route read the entry
        const leaving = await world.entries.beginExit(entry);

        await world.entries.undoExit(leaving);

        await expect(current(entry)).resolves.toMatchObject({ state: 'active' });
      });

      it('answers false and leaves the entry when it is no longer leaving (its left is queued)', async () => {
        const entry = await inState('exited');

        await expect(world.entries.undoExit(entry)).resolves.toBe(false);
        await expect(current(entry)).resolves.toMatchObject({ state: 'exited' });
      });

      it('answers false when the entry is gone (the fanout logged its left)', async () => {
        const entry = await inState('leaving');
        const { seq } = await world.log.head(room);
        const member = await world.log.member(room, entry.connectionId);
        await world.log.append(room, recordOf(leftOf(entry), seq + 1), {
          kind: 'leave',
          connectionId: entry.connectionId,
          entryId: entry.entryId,
          joinedSeq: member?.joinedSeq ?? 0,
          entryState: 'leaving',
        });

        await expect(world.entries.undoExit(entry)).resolves.toBe(false);
        await expect(world.entries.get(entry.connectionId, room)).resolves.toBeUndefined();
      });
    });

    describe('markExited', () => {
      it('moves a leaving entry to exited', async () => {
        const entry = await inState('leaving');

        await world.entries.markExited(entry);

        await expect(current(entry)).resolves.toMatchObject({ state: 'exited' });
      });

      it.each<EntryState>(['reserved', 'queued', 'active'])('leaves a %s entry as it is', async (state) => {
        const entry = await inState(state);

        await world.entries.markExited(entry);

        await expect(current(entry)).resolves.toMatchObject({ state });
      });

      it('leaves a newer entry of the connection as it is', async () => {
        const entry = await inState('leaving');

        await world.entries.markExited({ ...entry, entryId: 'an-older-entry' });

        await expect(current(entry)).resolves.toMatchObject({ state: 'leaving' });
      });
    });

    describe('get and list', () => {
      it('returns undefined for a room the connection has no entry in', async () => {
        const entry = await reserved('Mikki');

        await expect(world.entries.get(entry.connectionId, newRoom())).resolves.toBeUndefined();
      });

      it('lists every entry of a connection, in room id order, and only its own', async () => {
        const [b, a] = [`b-${room}`, `a-${room}`];
        const mikki = await reserved('Mikki', 'Mikki', b);
        const second = newEntry(mikki.connectionId, a, 'Mikki M');
        await world.entries.reserve(second);
        await reserved('Aku', 'Aku', a);

        const entries = await world.entries.list(mikki.connectionId);

        expect(entries.map((e) => [e.roomId, e.nickname])).toEqual([
          [a, 'Mikki M'],
          [b, 'Mikki'],
        ]);
      });

      it('lists no entries for an unknown connection', async () => {
        await expect(world.entries.list('nobody=')).resolves.toEqual([]);
      });
    });

    describe('releaseNickname', () => {
      it('frees the nickname this entry holds', async () => {
        const entry = await inState('exited');

        await world.entries.releaseNickname(entry);

        await expect(isFree('Mikki')).resolves.toBe(true);
      });

      it("keeps a nickname the connection's next entry holds now", async () => {
        const first = await inState('exited', 'Mikki');
        await world.entries.reserve(newEntry(first.connectionId, room, 'Mikki'));

        await world.entries.releaseNickname(first);

        await expect(isFree('Mikki')).resolves.toBe(false);
      });

      it('does nothing when the nickname is already free', async () => {
        const entry = await reserved('Mikki');
        await world.entries.cancel(entry);

        await expect(world.entries.releaseNickname(entry)).resolves.toBeUndefined();
      });
    });

    describe('discardExited', () => {
      it.each<EntryState>(['leaving', 'exited'])(
        'deletes a %s entry and frees its nickname',
        async (state) => {
          const entry = await inState(state);

          await world.entries.discardExited(entry);

          await expect(world.entries.get(entry.connectionId, room)).resolves.toBeUndefined();
          await expect(isFree('Mikki')).resolves.toBe(true);
        },
      );

      it.each<EntryState>(['reserved', 'queued', 'active'])(
        'keeps a %s entry and its nickname',
        async (state) => {
          const entry = await inState(state);

          await world.entries.discardExited(entry);

          await expect(current(entry)).resolves.toMatchObject({ state });
          await expect(isFree('Mikki')).resolves.toBe(false);
        },
      );

      it('keeps the newer entry and its nickname when this one was replaced', async () => {
        const first = await inState('exited', 'Mikki');
        const next = newEntry(first.connectionId, room, 'Mikki');
        await world.entries.reserve(next);

        await world.entries.discardExited(first);

        await expect(current(first)).resolves.toMatchObject({ entryId: next.entryId });
        await expect(isFree('Mikki')).resolves.toBe(false);
      });
    });
  });
}
