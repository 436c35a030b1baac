/**
 * What the roster means now: it follows the room's log, not the Lambdas' timing. A member
 * receives exactly the room's events from its `joined` to its `left` (by seq), the same seq
 * for every recipient, even when it enters or exits while earlier events still wait in the
 * queue; what happened before it entered comes as history, never as live events.
 */
import type { ServerEvent } from '../../../functions/shared/domain/protocol';
import { handleRoomEvent } from '../../../functions/shared/use-cases/deliver-room-event';
import { enterRoom } from '../../../functions/shared/use-cases/enter-room';
import { exitRoom } from '../../../functions/shared/use-cases/exit-room';
import { removeConnection } from '../../../functions/shared/use-cases/remove-connection';
import { sendMessage } from '../../../functions/shared/use-cases/send-message';
import { budgetOf, memberOfRoom, nicknamesIn, registerConnection } from '../../support/chat-state';
import { type InMemoryChat, inMemoryChat } from '../../support/in-memory';
import { RecordingPublisher } from '../../support/recording-publisher';
import { ScriptedNotifier } from '../../support/scripted-notifier';

const ROOM = '1';

describe('the room roster', () => {
  let chat: InMemoryChat;
  let queue: RecordingPublisher;
  let notifier: ScriptedNotifier;
  const routes = () => ({
    entries: chat.entries,
    registry: chat.registry,
    events: queue,
    budget: budgetOf(chat.limiter),
  });

  beforeEach(() => {
    chat = inMemoryChat({ pageSize: 2 });
    queue = new RecordingPublisher();
    notifier = new ScriptedNotifier();
  });

  /** The fanout catching up: every queued record, in queue order (FIFO per room). */
  async function drain() {
    const fanout = { ...routes(), log: chat.log, notifier, concurrency: 4 };
    for (let batch = queue.take(); batch.length > 0; batch = queue.take()) {
      for (const event of batch) await handleRoomEvent(fanout, event);
    }
  }

  const enter = (connectionId: string, nickname: string) =>
    enterRoom(routes(), { connectionId, roomId: ROOM, nickname, fromId: `from-${nickname}` });
  const say = (connectionId: string, message: string) =>
    sendMessage(routes(), { connectionId, roomId: ROOM, message });
  const exit = (connectionId: string) => exitRoom(routes(), { connectionId, roomId: ROOM });

  /** What a connection received live (history pages left out), as short labels. */
  const live = (connectionId: string) =>
    notifier
      .eventsTo(connectionId)
      .filter((e) => e.type !== 'history')
      .map((e) => (e.type === 'message' ? `message:${e.message}` : e.type));
  const historyMessages = (connectionId: string) =>
    notifier
      .eventsTo(connectionId)
      .flatMap((e) => (e.type === 'history' ? e.events : []))
      .flatMap((e) => (e.type === 'message' ? [e.message] : []));

  it('hands a newcomer no message queued before it entered, only as history', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    const aku = await registerConnection(chat, 'aku');

    await say(mikki.connectionId, 'early');
    await enter(aku.connectionId, 'Aku');
    await say(mikki.connectionId, 'late');
    await drain();

    expect(live(aku.connectionId)).toEqual(['entered', 'message:late']);
    expect(historyMessages(aku.connectionId)).toEqual(['early']);
    expect(live(mikki.connectionId)).toEqual(['message:early', 'joined', 'message:late']);
  });

  it('still hands a leaver every message queued before it exited, then exited', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);

    await say(mikki.connectionId, 'bye?');
    await exit(hessu.connectionId);
    await say(mikki.connectionId, 'gone');
    await drain();

    expect(live(hessu.connectionId)).toEqual(['message:bye?', 'exited']);
    expect(live(mikki.connectionId)).toEqual(['message:bye?', 'left', 'message:gone']);
  });

  it('follows an exit and a re-entry that both happen before the fanout catches up', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);

    await exit(hessu.connectionId);
    await say(mikki.connectionId, 'between');
    await enter(hessu.connectionId, 'Hessu');
    await say(mikki.connectionId, 'after');
    await drain();

    expect(live(hessu.connectionId)).toEqual(['exited', 'entered', 'message:after']);
    expect(live(mikki.connectionId)).toEqual(['left', 'message:between', 'joined', 'message:after']);
  });

  it('misses nothing sent before an exit when the member re-enters under another name at once', async () => {
    const aku = await memberOfRoom(chat, 'Aku', ROOM);
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);

    for (let n = 1; n <= 4; n++) await say(aku.connectionId, `before exit ${n}`);
    await exit(mikki.connectionId);
    await enter(mikki.connectionId, 'Mikki2');
    await drain();

    const seen = live(mikki.connectionId);
    expect(seen.slice(0, seen.indexOf('exited'))).toEqual([
      'message:before exit 1',
      'message:before exit 2',
      'message:before exit 3',
      'message:before exit 4',
    ]);
    expect(seen.slice(seen.indexOf('exited'))).toEqual(['exited', 'entered']);
  });

  it('gives every recipient the same seq for an event, and each member a run of seqs without gaps', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    const aku = await registerConnection(chat, 'aku');
    const hessu = await memberOfRoom(chat, 'Hessu', ROOM);

    await say(mikki.connectionId, 'a');
    await enter(aku.connectionId, 'Aku');
    await say(hessu.connectionId, 'b');
    await exit(hessu.connectionId);
    await say(aku.connectionId, 'c');
    await removeConnection(routes(), { connectionId: mikki.connectionId, reason: 'disconnect' });
    await say(aku.connectionId, 'd');
    await drain();

    const seqOf = new Map<string, number>();
    for (const who of [mikki.connectionId, aku.connectionId, hessu.connectionId]) {
      const seqs: number[] = [];
      for (const event of notifier.eventsTo(who)) {
        if (!('seq' in event)) continue;
        if (event.type !== 'entered' && event.type !== 'exited') {
          expect(seqOf.get(event.id) ?? event.seq).toBe(event.seq);
          seqOf.set(event.id, event.seq);
        }
        seqs.push(event.seq);
      }
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 0) + i));
    }
    await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Aku']);
  });

  it("does not deliver a message its sender's own left overtook, and tells the sender", async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    const aku = await memberOfRoom(chat, 'Aku', ROOM);
    // Frames of one connection run concurrently: the exit completes while the send is between
    // reading the entry and queueing the message.
    chat.limiter.beforeNext('take', () => exit(mikki.connectionId));

    await say(mikki.connectionId, 'too late');
    await drain();

    expect(live(aku.connectionId)).toEqual(['left']);
    expect(notifier.eventsTo(mikki.connectionId)).toEqual([
      expect.objectContaining({ type: 'exited' }),
      expect.objectContaining<Partial<ServerEvent>>({ type: 'error', code: 'not_in_room' }),
    ]);
  });

  it('never puts an entry whose enter was taken back on the roster, though its joined was queued', async () => {
    const mikki = await memberOfRoom(chat, 'Mikki', ROOM);
    const aku = await registerConnection(chat, 'aku');
    queue.acceptThenLeaveUnconfirmedNext();

    await expect(enter(aku.connectionId, 'Aku')).rejects.toThrow();
    await say(mikki.connectionId, 'hei');
    await drain();

    await expect(nicknamesIn(chat.log, ROOM)).resolves.toEqual(['Mikki']);
    expect(live(aku.connectionId)).toEqual([]);
    expect(live(mikki.connectionId)).toEqual(['message:hei']);
  });
});
