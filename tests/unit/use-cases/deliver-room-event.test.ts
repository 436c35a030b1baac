import type { ServerEvent } from '../../../functions/shared/domain/protocol';
import {
  DeliveryFailedError,
  deliverRoomEvent,
} from '../../../functions/shared/use-cases/deliver-room-event';
import { leftEventId } from '../../../functions/shared/use-cases/remove-connection';
import { memberOf, registerConnection } from '../../support/chat-state';
import { InMemoryConnectionStore } from '../../support/in-memory-connection-store';
import { RecordingPublisher } from '../../support/recording-publisher';
import { ScriptedNotifier } from '../../support/scripted-notifier';
import { roomEventFixture } from '../../support/sqs-events';

describe('deliverRoomEvent', () => {
  let store: InMemoryConnectionStore;
  let events: RecordingPublisher;
  let notifier: ScriptedNotifier;
  const deps = (concurrency = 8) => ({ store, events, notifier, concurrency });

  beforeEach(() => {
    store = new InMemoryConnectionStore({ pageSize: 2 });
    events = new RecordingPublisher();
    notifier = new ScriptedNotifier();
  });

  /** Mikki, Aku, Hessu and Roope in room 1 (the reference scenario). */
  async function roomOfFour() {
    const [mikki, aku, hessu, roope] = await Promise.all(
      ['Mikki', 'Aku', 'Hessu', 'Roope'].map((nickname) => memberOf(store, nickname, '1')),
    );
    if (!mikki || !aku || !hessu || !roope) throw new Error('arrange failed');
    return {
      mikki: mikki.connectionId,
      aku: aku.connectionId,
      hessu: hessu.connectionId,
      roope: roope.connectionId,
    };
  }

  const only = (connectionId: string): ServerEvent => {
    const sent = notifier.eventsTo(connectionId);
    expect(sent).toHaveLength(1);
    return sent[0] as ServerEvent;
  };

  describe('recipients', () => {
    it('sends entered (with the members) to the joiner and joined to everyone else', async () => {
      const c = await roomOfFour();
      const event = roomEventFixture({
        kind: 'joined',
        roomId: '1',
        connectionId: c.roope,
        nickname: 'Roope',
        members: ['Aku', 'Hessu', 'Mikki', 'Roope'],
      });

      await deliverRoomEvent(deps(), event);

      expect(only(c.roope)).toEqual({
        type: 'entered',
        roomId: '1',
        nickname: 'Roope',
        members: ['Aku', 'Hessu', 'Mikki', 'Roope'],
        memberCount: 4,
        id: event.id,
        at: event.at,
      });
      for (const other of [c.mikki, c.aku, c.hessu]) {
        expect(only(other)).toEqual({
          type: 'joined',
          roomId: '1',
          nickname: 'Roope',
          id: event.id,
          at: event.at,
        });
      }
    });

    it('sends a message to every member, the sender included', async () => {
      const c = await roomOfFour();
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'Hei kaikki!',
      });

      const report = await deliverRoomEvent(deps(), event);

      for (const member of Object.values(c)) {
        expect(only(member)).toEqual({
          type: 'message',
          roomId: '1',
          from: 'Mikki',
          message: 'Hei kaikki!',
          id: event.id,
          at: event.at,
        });
      }
      expect(report).toEqual({ delivered: 4, gone: [], failed: 0 });
    });

    it('sends exited to the member who exited and left (reason exit) to those remaining', async () => {
      const c = await roomOfFour();
      await store.exitRoom(c.hessu, '1');
      const event = roomEventFixture({
        kind: 'left',
        reason: 'exit',
        roomId: '1',
        connectionId: c.hessu,
        nickname: 'Hessu',
      });

      await deliverRoomEvent(deps(), event);

      expect(only(c.hessu)).toEqual({ type: 'exited', roomId: '1', id: event.id, at: event.at });
      for (const other of [c.mikki, c.aku, c.roope]) {
        expect(only(other)).toEqual({
          type: 'left',
          roomId: '1',
          nickname: 'Hessu',
          reason: 'exit',
          id: event.id,
          at: event.at,
        });
      }
    });

    it('tells only those remaining when a member disconnected', async () => {
      const c = await roomOfFour();
      await store.removeConnection(c.aku);
      const event = roomEventFixture({
        kind: 'left',
        reason: 'disconnect',
        roomId: '1',
        connectionId: c.aku,
        nickname: 'Aku',
      });

      await deliverRoomEvent(deps(), event);

      expect(notifier.recipients().sort()).toEqual([c.mikki, c.hessu, c.roope].sort());
      expect(only(c.mikki)).toMatchObject({ type: 'left', nickname: 'Aku', reason: 'disconnect' });
    });

    it('does not send a left notice to its subject even while the membership still exists', async () => {
      const c = await roomOfFour();
      const event = roomEventFixture({
        kind: 'left',
        reason: 'gone',
        roomId: '1',
        connectionId: c.aku,
        nickname: 'Aku',
      });

      await deliverRoomEvent(deps(), event);

      expect(notifier.recipients()).not.toContain(c.aku);
      expect(notifier.recipients()).toHaveLength(3);
    });

    it('sends a broadcast to every connection, in a room or not', async () => {
      const c = await roomOfFour();
      const lobby = await registerConnection(store, 'lobby');
      const event = roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'Huoltokatko klo 18' });

      const report = await deliverRoomEvent(deps(), event);

      expect(notifier.recipients().sort()).toEqual([...Object.values(c), lobby.connectionId].sort());
      expect(only(lobby.connectionId)).toEqual({
        type: 'broadcast',
        from: 'admin',
        message: 'Huoltokatko klo 18',
        id: event.id,
        at: event.at,
      });
      expect(report.delivered).toBe(5);
    });

    it('reaches members on every page of a large room', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) ids.push((await memberOf(store, `m${i}`, 'big')).connectionId);
      const event = roomEventFixture({
        kind: 'message',
        roomId: 'big',
        connectionId: ids[0] ?? '',
        from: 'm0',
        message: 'x',
      });

      await deliverRoomEvent(deps(), event);

      expect(notifier.recipients().sort()).toEqual([...ids].sort());
    });
  });

  describe('gone connections', () => {
    it('removes a connection that answers gone, with its memberships, and reports it', async () => {
      const c = await roomOfFour();
      await store.enterRoom({ connectionId: c.aku, roomId: '2', nickname: 'Aku' });
      notifier.script(c.aku, 'gone');
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'x',
      });

      const report = await deliverRoomEvent(deps(), event);

      expect(report).toEqual({ delivered: 3, gone: [c.aku], failed: 0 });
      await expect(store.getConnection(c.aku)).resolves.toBeUndefined();
      await expect(store.listMemberships(c.aku)).resolves.toEqual([]);
      await expect(store.getConnection(c.mikki)).resolves.toBeDefined();
    });

    it('queues left (reason gone) with deterministic ids for every room the gone connection was in', async () => {
      const c = await roomOfFour();
      await store.enterRoom({ connectionId: c.aku, roomId: '2', nickname: 'Aku Ankka' });
      notifier.script(c.aku, 'gone');
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'x',
      });

      await deliverRoomEvent(deps(), event);

      expect(events.events).toEqual([
        expect.objectContaining({
          kind: 'left',
          reason: 'gone',
          roomId: '1',
          connectionId: c.aku,
          nickname: 'Aku',
          id: leftEventId(c.aku, '1'),
        }),
        expect.objectContaining({
          kind: 'left',
          reason: 'gone',
          roomId: '2',
          connectionId: c.aku,
          nickname: 'Aku Ankka',
          id: leftEventId(c.aku, '2'),
        }),
      ]);
    });

    it('prunes the stale target, never the sender', async () => {
      const c = await roomOfFour();
      notifier.script(c.roope, 'gone');
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'x',
      });

      await deliverRoomEvent(deps(), event);

      await expect(store.getConnection(c.mikki)).resolves.toBeDefined();
      await expect(store.getConnection(c.roope)).resolves.toBeUndefined();
    });

    it('fails the delivery when a gone connection cannot be cleaned up, so the record is retried', async () => {
      const c = await roomOfFour();
      notifier.script(c.roope, 'gone');
      const failure = new Error('SQS down');
      events.failNext(failure);
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'x',
      });

      await expect(deliverRoomEvent(deps(), event)).rejects.toBe(failure);
      await expect(store.getConnection(c.roope)).resolves.toBeDefined();
    });
  });

  describe('failures', () => {
    it('delivers to everyone it can, then throws DeliveryFailedError with the count and first cause', async () => {
      const c = await roomOfFour();
      const cause = Object.assign(new Error('500 after retries'), { $metadata: { httpStatusCode: 500 } });
      notifier.script(c.aku, cause);
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'x',
      });

      const error = await deliverRoomEvent(deps(), event).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DeliveryFailedError);
      expect((error as DeliveryFailedError).report).toEqual({ delivered: 3, gone: [], failed: 1 });
      expect((error as DeliveryFailedError).cause).toBe(cause);
      expect(notifier.recipients().sort()).toEqual(Object.values(c).sort());
    });

    it('still prunes gone connections when another recipient failed', async () => {
      const c = await roomOfFour();
      notifier.script(c.aku, new Error('500'));
      notifier.script(c.hessu, 'gone');
      const event = roomEventFixture({
        kind: 'message',
        roomId: '1',
        connectionId: c.mikki,
        from: 'Mikki',
        message: 'x',
      });

      await expect(deliverRoomEvent(deps(), event)).rejects.toBeInstanceOf(DeliveryFailedError);

      await expect(store.getConnection(c.hessu)).resolves.toBeUndefined();
      expect(events.ofKind('left').map((e) => e.nickname)).toEqual(['Hessu']);
    });
  });

  describe('concurrency', () => {
    it('never has more posts in flight than the bound, and uses the bound', async () => {
      store = new InMemoryConnectionStore({ pageSize: 100 });
      notifier = new ScriptedNotifier({ latencyMs: 5 });
      for (let i = 0; i < 30; i++) await memberOf(store, `m${i}`, 'busy');
      const event = roomEventFixture({ kind: 'broadcast', from: 'admin', message: 'x' });

      await deliverRoomEvent(deps(4), event);

      expect(notifier.sends).toHaveLength(30);
      expect(notifier.maxInFlight).toBe(4);
    });
  });
});
