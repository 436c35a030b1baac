/**
 * The RoomLog contract: the fanout side of "who is in a room" (log time). A room's events get
 * seq 1, 2, 3 … by conditional appends at head + 1; a membership event changes the roster and
 * its entry in the same transaction, or nothing changes at all.
 */
import {
  CONNECTION_TTL_SECONDS,
  LEFT_MEMBER_TTL_SECONDS,
} from '../../../functions/shared/adapters/dynamodb/table-layout';
import type {
  EntryState,
  LogChange,
  NewEntry,
  RosterMember,
  SliceMember,
} from '../../../functions/shared/ports';
import {
  CONTRACT_SLICES,
  collect,
  joinedOf,
  later,
  leftOf,
  messageOf,
  newEntry,
  newRoom,
  RETENTION_DAYS,
  recordOf,
  registerConnection,
  type StoreSubject,
  type StoreWorld,
  seconds,
  T0,
} from './subject';

const DAY = seconds(24 * 60 * 60);

export function describeRoomLogContract(name: string, subject: StoreSubject): void {
  describe(`${name}: RoomLog`, () => {
    let now: Date;
    let world: StoreWorld;
    let room: string;

    beforeEach(async () => {
      now = T0;
      world = await subject.create(() => now, RETENTION_DAYS);
      room = newRoom();
    });

    /** A connection's entry, reserved and queued by the route (not yet on the roster). */
    async function queued(label: string, nickname = label, roomId = room): Promise<NewEntry> {
      const { connectionId } = await registerConnection(world, label);
      const entry = newEntry(connectionId, roomId, nickname);
      await world.entries.reserve(entry);
      await world.entries.markQueued(entry);
      return entry;
    }

    /** The seq each entry's joined was logged at (a leave names it: its slice keeps the window). */
    const joinedAt = new Map<string, number>();

    const joinChange = (entry: NewEntry, seq: number, entryState: EntryState = 'queued'): LogChange => {
      joinedAt.set(entry.entryId, seq);
      return joinOf(entry, seq, entryState);
    };
    const joinOf = (entry: NewEntry, seq: number, entryState: EntryState): LogChange => ({
      kind: 'join',
      member: {
        connectionId: entry.connectionId,
        entryId: entry.entryId,
        nickname: entry.nickname,
        joinedSeq: seq,
      },
      entryState,
    });

    const leaveChange = (entry: NewEntry, entryState?: EntryState): LogChange => ({
      kind: 'leave',
      connectionId: entry.connectionId,
      entryId: entry.entryId,
      joinedSeq: joinedAt.get(entry.entryId) ?? 0,
      ...(entryState === undefined ? {} : { entryState }),
    });

    /** Appends at the head's next seq and expects it to be appended; returns the seq. */
    async function append(event: Parameters<typeof recordOf>[0], change: LogChange, roomId = room) {
      const seq = (await world.log.head(roomId)).seq + 1;
      await expect(world.log.append(roomId, recordOf(event, seq), change)).resolves.toBe('appended');
      return seq;
    }

    /** A member on the roster: its `joined` logged. */
    async function member(label: string, nickname = label, roomId = room): Promise<NewEntry> {
      const entry = await queued(label, nickname, roomId);
      const seq = (await world.log.head(roomId)).seq + 1;
      await expect(
        world.log.append(roomId, recordOf(joinedOf(entry), seq), joinChange(entry, seq)),
      ).resolves.toBe('appended');
      return entry;
    }

    const rosterOf = async (roomId = room) =>
      (await collect(world.log.roster(roomId))).items.map((m) => m.nickname).sort();
    const seqs = async (range: Parameters<StoreWorld['log']['events']>[1], roomId = room) =>
      (await world.log.events(roomId, range)).map((r) => r.seq);

    describe('head', () => {
      it('starts an empty room at seq 0 with no event', async () => {
        await expect(world.log.head(room)).resolves.toEqual({ seq: 0 });
      });

      it('answers the newest logged event and its id', async () => {
        const mikki = await member('Mikki');
        const message = messageOf(mikki);
        await append(message, { kind: 'message' });

        await expect(world.log.head(room)).resolves.toEqual({ seq: 2, eventId: message.id });
        await expect(world.anotherLog().head(room)).resolves.toEqual({ seq: 2, eventId: message.id });
      });

      it('keeps each room apart', async () => {
        await member('Mikki');

        await expect(world.log.head(newRoom())).resolves.toEqual({ seq: 0 });
      });

      it('still counts events past their retention until they are deleted', async () => {
        const mikki = await member('Mikki');
        await append(messageOf(mikki), { kind: 'message' });
        now = later(RETENTION_DAYS * DAY + seconds(1));

        await expect(world.anotherLog().head(room)).resolves.toMatchObject({ seq: 2 });
      });

      it("carries on after the room's last left when its whole log has expired and been deleted", async () => {
        const mikki = await member('Mikki');
        await world.entries.beginExit({ ...mikki, state: 'active', updatedAt: 0 });
        await append(leftOf(mikki), leaveChange(mikki, 'leaving'));
        now = later(RETENTION_DAYS * DAY + seconds(1));
        await subject.deleteExpired(world, now);

        await expect(world.log.events(room, { limit: 10, take: 'newest' })).resolves.toEqual([]);
        await expect(world.anotherLog().head(room)).resolves.toEqual({ seq: 2 });
      });
    });

    describe('append', () => {
      it('appends a message at the next seq and returns it as logged', async () => {
        const mikki = await member('Mikki');
        const record = recordOf(messageOf(mikki, 'Hei kaikki!'), 2);

        await expect(world.log.append(room, record, { kind: 'message' })).resolves.toBe('appended');

        await expect(world.log.events(room, { after: 1, limit: 10, take: 'oldest' })).resolves.toEqual([
          record,
        ]);
      });

      it('answers seq-taken for a seq already logged, and keeps what was logged there', async () => {
        const mikki = await member('Mikki');
        const first = recordOf(messageOf(mikki, 'first'), 2);
        await world.log.append(room, first, { kind: 'message' });

        await expect(
          world.log.append(room, recordOf(messageOf(mikki, 'second'), 2), { kind: 'message' }),
        ).resolves.toBe('seq-taken');
        await expect(world.log.events(room, { after: 1, limit: 10, take: 'oldest' })).resolves.toEqual([
          first,
        ]);
      });

      it('shows a sandbox whose head is stale seq-taken, then the head the other sandbox moved on to', async () => {
        const mikki = await member('Mikki');
        const stale = world.anotherLog();
        await expect(stale.head(room)).resolves.toMatchObject({ seq: 1 });
        const message = messageOf(mikki, 'from the other sandbox');
        await append(message, { kind: 'message' });

        await expect(stale.append(room, recordOf(messageOf(mikki), 2), { kind: 'message' })).resolves.toBe(
          'seq-taken',
        );
        await expect(stale.head(room)).resolves.toEqual({ seq: 2, eventId: message.id });
      });

      it.each<EntryState>(['reserved', 'queued'])(
        'puts a joined member on the roster and activates its %s entry, with the append',
        async (state) => {
          const { connectionId } = await registerConnection(world, 'Mikki');
          const entry = newEntry(connectionId, room, 'Mikki');
          await world.entries.reserve(entry);
          if (state === 'queued') await world.entries.markQueued(entry);

          await append(joinedOf(entry), joinChange(entry, 1, state));

          await expect(world.log.member(room, connectionId)).resolves.toEqual({
            connectionId,
            entryId: entry.entryId,
            nickname: 'Mikki',
            joinedSeq: 1,
          });
          await expect(world.entries.get(connectionId, room)).resolves.toMatchObject({ state: 'active' });
        },
      );

      it('puts a joined member back on the roster when its entry is already active', async () => {
        const entry = await queued('Mikki');
        await append(joinedOf(entry), joinChange(entry, 1, 'queued'));

        await append(joinedOf(entry), joinChange(entry, 2, 'active'));

        await expect(world.log.member(room, entry.connectionId)).resolves.toMatchObject({ joinedSeq: 2 });
        await expect(world.entries.get(entry.connectionId, room)).resolves.toMatchObject({ state: 'active' });
      });

      it('answers conflict and logs nothing when the joined entry is no longer in the state seen', async () => {
        const entry = await queued('Mikki');

        await expect(
          world.log.append(room, recordOf(joinedOf(entry), 1), joinChange(entry, 1, 'reserved')),
        ).resolves.toBe('conflict');

        await expect(world.log.head(room)).resolves.toEqual({ seq: 0 });
        await expect(world.log.member(room, entry.connectionId)).resolves.toBeUndefined();
        await expect(world.entries.get(entry.connectionId, room)).resolves.toMatchObject({ state: 'queued' });
      });

      it('answers conflict when the joined entry was taken back', async () => {
        const { connectionId } = await registerConnection(world, 'Mikki');
        const entry = newEntry(connectionId, room, 'Mikki');
        await world.entries.reserve(entry);
        await world.entries.cancel(entry);

        await expect(
          world.log.append(room, recordOf(joinedOf(entry), 1), joinChange(entry, 1, 'reserved')),
        ).resolves.toBe('conflict');
        await expect(collect(world.log.roster(room))).resolves.toEqual({ pages: 0, items: [] });
      });

      it('puts a member whose entry has since exited and been replaced on the roster, leaving the new entry', async () => {
        const first = await queued('Mikki');
        await world.entries.beginExit({ ...first, state: 'queued', updatedAt: 0 });
        await world.entries.markExited({ ...first, state: 'leaving', updatedAt: 0 });
        const next = newEntry(first.connectionId, room, 'Mikki');
        await world.entries.reserve(next);
        const change: LogChange = {
          kind: 'join',
          member: {
            connectionId: first.connectionId,
            entryId: first.entryId,
            nickname: 'Mikki',
            joinedSeq: 1,
          },
        };

        await append(joinedOf(first), change);

        await expect(world.log.member(room, first.connectionId)).resolves.toMatchObject({
          entryId: first.entryId,
        });
        await expect(world.entries.get(first.connectionId, room)).resolves.toMatchObject({
          entryId: next.entryId,
          state: 'reserved',
        });
      });

      it('answers conflict for the join of an entry seen as gone that was in fact taken back', async () => {
        const { connectionId } = await registerConnection(world, 'Mikki');
        const entry = newEntry(connectionId, room, 'Mikki');
        await world.entries.reserve(entry);
        await world.entries.cancel(entry);
        const change: LogChange = {
          kind: 'join',
          member: { connectionId, entryId: entry.entryId, nickname: 'Mikki', joinedSeq: 1 },
        };

        await expect(world.log.append(room, recordOf(joinedOf(entry), 1), change)).resolves.toBe('conflict');
        await expect(world.log.head(room)).resolves.toEqual({ seq: 0 });
        await expect(world.log.member(room, connectionId)).resolves.toBeUndefined();
      });

      it.each<EntryState>(['leaving', 'exited'])(
        'takes a leaving member off the roster and deletes its %s entry, with the append',
        async (state) => {
          const mikki = await member('Mikki');
          await member('Aku');
          const leaving = await world.entries.beginExit({ ...mikki, state: 'active', updatedAt: 0 });
          if (state === 'exited') await world.entries.markExited(leaving);

          await append(leftOf(mikki), leaveChange(mikki, state));

          await expect(world.log.member(room, mikki.connectionId)).resolves.toBeUndefined();
          await expect(rosterOf()).resolves.toEqual(['Aku']);
          await expect(world.entries.get(mikki.connectionId, room)).resolves.toBeUndefined();
        },
      );

      it("keeps the connection's newer entry when the leaving entry was already replaced", async () => {
        const mikki = await member('Mikki');
        const leaving = await world.entries.beginExit({ ...mikki, state: 'active', updatedAt: 0 });
        await world.entries.markExited(leaving);
        const next = newEntry(mikki.connectionId, room, 'Mikki');
        await world.entries.reserve(next);

        await append(leftOf(mikki), leaveChange(mikki));

        await expect(world.log.member(room, mikki.connectionId)).resolves.toBeUndefined();
        await expect(world.entries.get(mikki.connectionId, room)).resolves.toMatchObject({
          entryId: next.entryId,
          state: 'reserved',
        });
      });

      it('answers conflict and logs nothing when the roster holds another entry of the connection', async () => {
        const mikki = await member('Mikki');
        const other = { ...mikki, entryId: 'an-older-entry' };

        await expect(world.log.append(room, recordOf(leftOf(other), 2), leaveChange(other))).resolves.toBe(
          'conflict',
        );
        await expect(world.log.member(room, mikki.connectionId)).resolves.toMatchObject({
          entryId: mikki.entryId,
        });
        await expect(world.log.head(room)).resolves.toMatchObject({ seq: 1 });
      });

      it('answers conflict and changes nothing when the leaving entry is no longer in the state seen', async () => {
        const mikki = await member('Mikki');
        const leaving = await world.entries.beginExit({ ...mikki, state: 'active', updatedAt: 0 });
        await world.entries.undoExit(leaving);

        await expect(
          world.log.append(room, recordOf(leftOf(mikki), 2), leaveChange(mikki, 'leaving')),
        ).resolves.toBe('conflict');
        await expect(world.log.member(room, mikki.connectionId)).resolves.toBeDefined();
        await expect(world.entries.get(mikki.connectionId, room)).resolves.toMatchObject({ state: 'active' });
        await expect(world.log.events(room, { after: 1, limit: 5, take: 'oldest' })).resolves.toEqual([]);
      });

      it('answers conflict when an entry seen as replaced is current after all', async () => {
        const mikki = await member('Mikki');

        await expect(world.log.append(room, recordOf(leftOf(mikki), 2), leaveChange(mikki))).resolves.toBe(
          'conflict',
        );
        await expect(world.log.member(room, mikki.connectionId)).resolves.toBeDefined();
      });

      it('answers seq-taken, not conflict, when both the seq and the change fail', async () => {
        const mikki = await member('Mikki');

        await expect(
          world.log.append(room, recordOf(leftOf(mikki), 1), leaveChange(mikki, 'exited')),
        ).resolves.toBe('seq-taken');
      });
    });

    describe('member and roster', () => {
      it("returns a member's entry, nickname and the seq of its joined", async () => {
        await member('Aku');
        const mikki = await member('Mikki');

        await expect(world.log.member(room, mikki.connectionId)).resolves.toEqual<RosterMember>({
          connectionId: mikki.connectionId,
          entryId: mikki.entryId,
          nickname: 'Mikki',
          joinedSeq: 2,
        });
      });

      it('returns undefined for a connection not on the roster, even with an entry in the room', async () => {
        const entry = await queued('Mikki');

        await expect(world.log.member(room, entry.connectionId)).resolves.toBeUndefined();
      });

      it('yields nothing for a room nobody is in', async () => {
        await expect(collect(world.log.roster(room))).resolves.toEqual({ pages: 0, items: [] });
      });

      it("lists only the room's own members", async () => {
        await member('Mikki');
        await member('Aku', 'Aku', newRoom());

        await expect(rosterOf()).resolves.toEqual(['Mikki']);
      });

      it('pages through a roster larger than one page, yielding every member once', async () => {
        const joined: NewEntry[] = [];
        for (const label of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']) joined.push(await member(label));
        await subject.spreadRosterOverPages(
          world,
          room,
          joined.map((m) => m.connectionId),
        );

        const { pages, items } = await collect(world.log.roster(room));

        expect(pages).toBeGreaterThan(1);
        expect(items.map((m) => m.nickname).sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
        expect(items.map((m) => m.joinedSeq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      });

      it('leaves out members whose TTL has passed (their connection was lost without $disconnect)', async () => {
        const old = await member('Old');
        now = later(seconds(60 * 60));
        await member('New');
        now = later(seconds(CONNECTION_TTL_SECONDS + 1));

        await expect(rosterOf()).resolves.toEqual(['New']);
        await expect(world.log.member(room, old.connectionId)).resolves.toBeUndefined();
      });
    });

    describe('size and slices', () => {
      /** Exits a member through the route and logs its left; returns the seq. */
      async function leave(entry: NewEntry): Promise<number> {
        const leaving = await world.entries.beginExit({ ...entry, state: 'active', updatedAt: 0 });
        return append(leftOf(entry), leaveChange(entry, leaving.state));
      }

      /** Every slice of the room read from `fromSeq`: connection id → its windows, per slice. */
      async function slicesFrom(fromSeq: number, roomId = room) {
        const found: { slice: number; member: SliceMember }[] = [];
        for (let slice = 0; slice < CONTRACT_SLICES; slice++) {
          for (const m of (await collect(world.log.sliceMembers(roomId, slice, fromSeq))).items) {
            found.push({ slice, member: m });
          }
        }
        return found;
      }

      it('counts nobody in a room nobody entered, which is not sliced', async () => {
        await expect(world.log.size(room)).resolves.toEqual({ members: 0, slices: new Map(), sliced: false });
      });

      it('counts the members in all and per slice, through joins and leaves, as every sandbox reads it', async () => {
        const members = [];
        for (const label of ['m1', 'm2', 'm3', 'm4', 'm5']) members.push(await member(label));
        await leave(members[1] as NewEntry);
        const perSlice = new Map<number, number>();
        for (const m of [members[0], ...members.slice(2)] as NewEntry[]) {
          const slice = world.log.sliceOf(m.connectionId);
          perSlice.set(slice, (perSlice.get(slice) ?? 0) + 1);
        }

        await expect(world.log.size(room)).resolves.toEqual({ members: 4, slices: perSlice, sliced: false });
        await expect(world.anotherLog().size(room)).resolves.toEqual({
          members: 4,
          slices: perSlice,
          sliced: false,
        });
      });

      it('keeps a room sliced once marked, for every sandbox', async () => {
        await member('Mikki');

        await world.log.markSliced(room);

        await expect(world.log.size(room)).resolves.toMatchObject({ members: 1, sliced: true });
        await expect(world.anotherLog().size(room)).resolves.toMatchObject({ sliced: true });
      });

      it('puts a connection in the same one slice of every room, the slices together holding the roster', async () => {
        const joined: NewEntry[] = [];
        for (const label of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']) joined.push(await member(label));

        const found = await slicesFrom(1);

        expect(found.map((f) => f.member.connectionId).sort()).toEqual(
          joined.map((m) => m.connectionId).sort(),
        );
        for (const { slice, member: m } of found) {
          expect(slice).toBe(world.log.sliceOf(m.connectionId));
          expect(m).toEqual({
            connectionId: m.connectionId,
            entryId: joined.find((j) => j.connectionId === m.connectionId)?.entryId,
            joinedSeq: joinedAt.get(m.entryId),
          });
        }
        expect(new Set(found.map((f) => f.slice)).size).toBeGreaterThan(1);
      });

      it('keeps the window of one that left for slices reading from its left or before, not after', async () => {
        const mikki = await member('Mikki');
        await member('Aku');
        const leftSeq = await leave(mikki);

        const atLeft = (await slicesFrom(leftSeq)).find((f) => f.member.connectionId === mikki.connectionId);
        const after = (await slicesFrom(leftSeq + 1)).find(
          (f) => f.member.connectionId === mikki.connectionId,
        );

        expect(atLeft?.member).toEqual({
          connectionId: mikki.connectionId,
          entryId: mikki.entryId,
          joinedSeq: 1,
          leftSeq,
        });
        expect(after).toBeUndefined();
      });

      it('holds both windows of a connection that left and came back', async () => {
        const first = await member('Mikki');
        const leftSeq = await leave(first);
        await world.entries.markExited({ ...first, state: 'leaving', updatedAt: 0 });
        const second = newEntry(first.connectionId, room, 'Mikki');
        await world.entries.reserve(second);
        await world.entries.markQueued(second);
        const joinedSeq = await append(joinedOf(second), joinChange(second, leftSeq + 1));

        const windows = (await slicesFrom(leftSeq)).map((f) => f.member);

        expect(windows).toEqual([
          { connectionId: first.connectionId, entryId: first.entryId, joinedSeq: 1, leftSeq },
          { connectionId: first.connectionId, entryId: second.entryId, joinedSeq },
        ]);
      });

      it('leaves out a member whose TTL has passed, but keeps one that left until its window is deleted', async () => {
        await member('Lost');
        const gone = await member('Gone');
        const leftSeq = await leave(gone);
        now = later(seconds(CONNECTION_TTL_SECONDS + 1));

        const ids = async () => (await slicesFrom(leftSeq)).map((f) => f.member.connectionId);

        await expect(ids()).resolves.toEqual([gone.connectionId]);
        now = later(seconds(LEFT_MEMBER_TTL_SECONDS + 1));
        await subject.deleteExpired(world, now);
        await expect(ids()).resolves.toEqual([]);
      });

      it('pages the roster in pages of at most pageSize members when asked', async () => {
        for (const label of ['m1', 'm2', 'm3', 'm4', 'm5']) await member(label);

        const { pages, items } = await collect(world.log.roster(room, { pageSize: 2 }));

        expect(items).toHaveLength(5);
        expect(pages).toBeGreaterThanOrEqual(3);
      });
    });

    describe('events', () => {
      /** Mikki joined at 1, then messages 2 … n. */
      async function logOf(n: number) {
        const mikki = await member('Mikki');
        for (let seq = 2; seq <= n; seq++) await append(messageOf(mikki, `m${seq}`), { kind: 'message' });
      }

      it('returns the newest `limit` events, oldest first', async () => {
        await logOf(6);

        await expect(seqs({ limit: 3, take: 'newest' })).resolves.toEqual([4, 5, 6]);
      });

      it('returns the oldest `limit` events after `after`, oldest first', async () => {
        await logOf(6);

        await expect(seqs({ after: 2, limit: 3, take: 'oldest' })).resolves.toEqual([3, 4, 5]);
      });

      it('returns the events strictly between `after` and `before`', async () => {
        await logOf(8);

        await expect(seqs({ after: 2, before: 6, limit: 10, take: 'oldest' })).resolves.toEqual([3, 4, 5]);
        await expect(seqs({ after: 2, before: 6, limit: 2, take: 'newest' })).resolves.toEqual([4, 5]);
        await expect(seqs({ before: 4, limit: 10, take: 'newest' })).resolves.toEqual([1, 2, 3]);
      });

      it.each([
        ['before the first seq', { before: 1 }],
        ['after the last seq', { after: 5 }],
        ['an empty range', { after: 3, before: 4 }],
        ['a reversed range', { after: 4, before: 2 }],
      ])('returns nothing for %s', async (_what, range) => {
        await logOf(5);

        await expect(seqs({ ...range, limit: 10, take: 'newest' })).resolves.toEqual([]);
        await expect(seqs({ ...range, limit: 10, take: 'oldest' })).resolves.toEqual([]);
      });

      it('returns fewer than `limit` when fewer are logged, and nothing for an unknown room', async () => {
        await logOf(3);

        await expect(seqs({ limit: 50, take: 'newest' })).resolves.toEqual([1, 2, 3]);
        await expect(seqs({ limit: 50, take: 'newest' }, newRoom())).resolves.toEqual([]);
      });

      it('returns each record as it was appended', async () => {
        const mikki = await member('Mikki');
        const record = recordOf(messageOf(mikki, 'Hei "kaikki" \u2028 <b>!</b>'), 2);
        await world.log.append(room, record, { kind: 'message' });

        await expect(world.log.events(room, { limit: 1, take: 'newest' })).resolves.toEqual([record]);
      });

      it('leaves out events past the retention and still fills `limit` from those kept', async () => {
        await logOf(4);
        now = later(DAY / 2);
        const mikki = await member('Mikki2', 'Mikki2');
        for (let seq = 6; seq <= 9; seq++) await append(messageOf(mikki, `m${seq}`), { kind: 'message' });
        now = later(RETENTION_DAYS * DAY + seconds(1));

        await expect(seqs({ limit: 3, take: 'oldest' })).resolves.toEqual([5, 6, 7]);
        await expect(seqs({ limit: 10, take: 'newest' })).resolves.toEqual([5, 6, 7, 8, 9]);
        await expect(seqs({ before: 6, limit: 3, take: 'newest' })).resolves.toEqual([5]);
      });
    });
  });
}
