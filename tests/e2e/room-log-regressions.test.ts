/**
 * Named regressions of the room log: each case is a race that once lost or misplaced room
 * events, reproduced with real clients on the local stack, and checked against the room's
 * one order (seq).
 */
import { ChatClient, type ChatEvent } from './support/chat-client';
import { startTestStack, type TestStack } from './support/test-stack';

const inRoom = (roomId: string) => (e: ChatEvent) => e.roomId === roomId;

describe('room log regressions', () => {
  let stack: TestStack;
  const clients: ChatClient[] = [];
  const connect = async (name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await startTestStack();
  }, 60_000);

  afterEach(() => {
    stack.chat.faults.connections.delayMs = 0;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack?.chat.stop();
  }, 30_000);

  it('exit and re-enter while earlier messages are still being fanned out: nothing before the exit is missed', async () => {
    const roomId = 'reenter';
    const aku = await connect('Aku');
    const mikki = await connect('Mikki');
    await aku.enter(roomId, 'Aku');
    await mikki.enter(roomId, 'Mikki');
    await aku.waitFor((e) => e.type === 'joined' && e.nickname === 'Mikki', 'Mikki joined');

    // Slow posts keep the fanout behind while Mikki exits and re-enters under a new name.
    stack.chat.faults.connections.delayMs = 150;
    for (let n = 1; n <= 4; n++) aku.send({ action: 'sendmessage', roomId, message: `before exit ${n}` });
    await aku.waitFor((e) => e.type === 'message' && e.message === 'before exit 1', 'its first message');
    mikki.send({ action: 'exitroom', roomId });
    mikki.send({ action: 'enterroom', roomId, nickname: 'Mikki2' });
    await mikki.waitFor((e) => e.type === 'entered' && e.nickname === 'Mikki2', 'entered again', 20_000);

    const seen = mikki.events.filter(inRoom(roomId));
    const exited = seen.findIndex((e) => e.type === 'exited');
    const before = seen
      .slice(0, exited)
      .filter((e) => e.type === 'message')
      .map((e) => e.message);
    expect(exited).toBeGreaterThan(0);
    expect(new Set(before)).toEqual(
      new Set(['before exit 1', 'before exit 2', 'before exit 3', 'before exit 4']),
    );
  }, 60_000);
});
