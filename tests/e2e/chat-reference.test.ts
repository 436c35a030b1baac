/**
 * The reference scenario, end to end on the local gateway with real WebSocket clients:
 * Mikki, Aku, Hessu and Roope in room 1; everyone gets every message in the same order;
 * Hessu and Aku exit and the others are told.
 */
import { ChatClient, type ChatEvent, type ChatClient as Client } from './support/chat-client';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

const NAMES = ['Mikki', 'Aku', 'Hessu', 'Roope'] as const;
type Name = (typeof NAMES)[number];
const TEXTS: Record<Name, string> = {
  Mikki: 'Hei kaikki!',
  Aku: 'Terve, mitä kuuluu?',
  Hessu: 'Moi moi 👋',
  Roope: 'Päivää. Aika on rahaa.',
};

const isMessage = (e: ChatEvent) => e.type === 'message' && e.roomId === '1';
const isLeft = (e: ChatEvent) => e.type === 'left' && e.roomId === '1';

describe('the reference scenario in room 1', () => {
  let stack: TestStack;
  const clients = {} as Record<Name, Client>;

  beforeAll(async () => {
    stack = await startTestStack();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(Object.values(clients).map((c) => c.close().catch(() => undefined)));
    await stack?.chat.stop();
  }, 30_000);

  it('lets Mikki, Aku, Hessu and Roope enter room 1, each told who is there', async () => {
    const inside: Name[] = [];
    for (const name of NAMES) {
      const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
      clients[name] = client;
      const entered = await client.enter('1', name);
      inside.push(name);
      expect(entered).toMatchObject({ type: 'entered', roomId: '1', nickname: name });
      expect([...(entered.members as string[])].sort()).toEqual([...inside].sort());
    }
    // Everyone already inside heard about each later arrival, in arrival order.
    for (const [index, name] of NAMES.entries()) {
      const later = NAMES.slice(index + 1);
      const joined = await clients[name].waitForCount((e) => e.type === 'joined', later.length, 'joined');
      expect(joined.map((e) => e.nickname)).toEqual(later);
    }
  });

  it('delivers every message to every member, the sender included, in one order', async () => {
    for (const name of NAMES)
      clients[name].send({ action: 'sendmessage', roomId: '1', message: TEXTS[name] });

    const received = await Promise.all(
      NAMES.map((name) => clients[name].waitForCount(isMessage, 4, 'messages')),
    );
    const order = received[0]?.map((e) => e.id);
    for (const events of received) {
      expect(events.map((e) => e.id)).toEqual(order);
      expect(new Set(events.map((e) => `${e.from}: ${e.message}`))).toEqual(
        new Set(NAMES.map((name) => `${name}: ${TEXTS[name]}`)),
      );
    }
    expect(new Set(order).size).toBe(4);
  });

  it('tells the remaining members when Hessu and Aku exit, and confirms to the exiters', async () => {
    clients.Hessu.send({ action: 'exitroom', roomId: '1' });
    await clients.Hessu.waitFor((e) => e.type === 'exited' && e.roomId === '1', 'exited');
    clients.Aku.send({ action: 'exitroom', roomId: '1' });
    await clients.Aku.waitFor((e) => e.type === 'exited' && e.roomId === '1', 'exited');

    for (const name of ['Mikki', 'Roope'] as const) {
      const left = await clients[name].waitForCount(isLeft, 2, 'left notices');
      expect(left.map((e) => [e.nickname, e.reason])).toEqual([
        ['Hessu', 'exit'],
        ['Aku', 'exit'],
      ]);
    }
    // Aku was still in the room when Hessu left.
    await clients.Aku.waitFor((e) => isLeft(e) && e.nickname === 'Hessu', "Hessu's left notice");
    // Nobody is told about their own exit as a `left`.
    expect(clients.Hessu.events.filter((e) => isLeft(e) && e.nickname === 'Hessu')).toEqual([]);
  });

  it('gives Mikki and Roope the same room stream since Roope entered', () => {
    const stream = (name: Name) => {
      const events = clients[name].events;
      const roopeIn =
        name === 'Roope'
          ? events.findIndex((e) => e.type === 'entered')
          : events.findIndex((e) => e.type === 'joined' && e.nickname === 'Roope');
      return events
        .slice(roopeIn + 1)
        .filter((e) => isMessage(e) || isLeft(e))
        .map((e) => e.id);
    };
    expect(stream('Mikki')).toHaveLength(6);
    expect(stream('Roope')).toEqual(stream('Mikki'));
  });

  it('sends the exiters nothing of room 1 after their exit', async () => {
    const fanoutRuns = () => stack.logs.filter((line) => line.includes('FanoutFunction')).length;
    const before = fanoutRuns();
    clients.Mikki.send({ action: 'sendmessage', roomId: '1', message: 'Vain me kaksi' });
    await clients.Roope.waitFor((e) => isMessage(e) && e.message === 'Vain me kaksi', 'the last message');
    await clients.Mikki.waitFor((e) => isMessage(e) && e.message === 'Vain me kaksi', 'the last message');
    // The fanout has finished the batch that carried it (every post of it was answered).
    await eventually(() => fanoutRuns() > before, 'the fanout batch to finish');
    for (const name of ['Hessu', 'Aku'] as const) {
      const events = clients[name].events;
      const exitedAt = events.findIndex((e) => e.type === 'exited');
      expect(events.slice(exitedAt + 1).filter(isMessage)).toEqual([]);
    }
  });
});
