/**
 * Lambda's reserved concurrency through the whole local stack (template variants with
 * ReservedConcurrentExecutions): a route whose function is throttled answers as API Gateway
 * does (`Internal server error`), a throttled $connect refuses the handshake with 500, and
 * the SQS event source retries a throttled fanout batch with back-off, losing nothing and
 * keeping each room's order. Real `ws` clients throughout.
 */
import { ChatClient, type ChatEvent, handshakeStatus } from './support/chat-client';
import {
  eventually,
  functionOf,
  startTestStack,
  type TestStack,
  templateVariant,
  useFixture,
} from './support/test-stack';

describe('Lambda throttling at reserved concurrency, through the local stack', () => {
  let stack: TestStack;
  const open: ChatClient[] = [];
  const connect = async (name: string, on = stack) => {
    const client = await ChatClient.connect(on.chat.wsUrl, on.chat.chatToken, name);
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    stack = await startTestStack({
      visibilityTimeoutSeconds: 30,
      templateFile: templateVariant('reserved-concurrency', (template) => {
        useFixture(template, 'DefaultFunction', 'slow-route.ts');
        functionOf(template, 'DefaultFunction').properties.ReservedConcurrentExecutions = 1;
        functionOf(template, 'FanoutFunction').properties.ReservedConcurrentExecutions = 1;
      }),
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of open) client.terminate();
    await stack?.chat.stop();
  }, 30_000);

  it('answers a frame whose function is throttled as API Gateway does: Internal server error', async () => {
    const slow = await connect('slow');
    const fast = await connect('fast');
    const throttlesBefore = stack.chat.functionStats('DefaultFunction').throttles;
    slow.send({ action: 'probe', label: 'slow', ms: 1500 });
    await eventually(
      () => stack.chat.functionStats('DefaultFunction').busy === 1,
      'the slow invocation to run',
    );
    fast.send({ action: 'probe', label: 'fast' });

    const refused = await fast.waitFor((e: ChatEvent) => e.message === 'Internal server error', 'the 500');
    expect(refused).toEqual({
      message: 'Internal server error',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    expect(fast.events.some((e) => e.probe !== undefined)).toBe(false);
    expect(await slow.waitFor((e) => e.probe !== undefined, 'the slow answer')).toMatchObject({
      probe: 'slow',
    });
    expect(stack.chat.functionStats('DefaultFunction').throttles).toBe(throttlesBefore + 1);
    expect(stack.logs.some((l) => l.includes('TooManyRequestsException: Rate Exceeded.'))).toBe(true);
  });

  it('retries a throttled fanout batch with back-off: every message arrives, in one order per room', async () => {
    stack.chat.faults.connections.delayMs = 300; // each fanout invocation takes a while
    try {
      const rooms = ['t1', 't2', 't3'];
      // Two members per room: both must get the room's messages in the same order. (The two
      // messages a member sends back to back are frames that run concurrently: either may go first.)
      const senders = await Promise.all(rooms.map((room) => connect(`sender-${room}`)));
      const listeners = await Promise.all(rooms.map((room) => connect(`listener-${room}`)));
      for (const [i, room] of rooms.entries()) {
        await senders[i]?.enter(room, `sender-${room}`);
        await listeners[i]?.enter(room, `listener-${room}`);
      }
      const throttlesBefore = stack.chat.functionStats('FanoutFunction').throttles;
      for (const [i, room] of rooms.entries()) {
        // Each room's messages go out while an earlier room's batch is still being delivered.
        await eventually(
          () => i === 0 || stack.chat.functionStats('FanoutFunction').busy === 1,
          'a busy fanout',
        );
        for (const n of [1, 2])
          senders[i]?.send({ action: 'sendmessage', roomId: room, message: `${room}:${n}` });
      }
      for (const [i, room] of rooms.entries()) {
        const heard = await Promise.all(
          [senders[i], listeners[i]].map((member) =>
            member?.waitForCount((e) => e.type === 'message', 2, 'messages', 20_000),
          ),
        );
        const [bySender, byListener] = heard.map((events) => events?.map((e) => e.message));
        expect([...(bySender ?? [])].sort()).toEqual([`${room}:1`, `${room}:2`]);
        expect(byListener).toEqual(bySender);
      }
      expect(stack.chat.functionStats('FanoutFunction')).toMatchObject({ peakConcurrency: 1 });
      expect(stack.chat.functionStats('FanoutFunction').throttles).toBeGreaterThan(throttlesBefore);
      expect(stack.logs.some((l) => /FanoutFunction throttled .*retrying a batch/.test(l))).toBe(true);
    } finally {
      stack.chat.faults.connections.delayMs = 0;
    }
  }, 60_000);

  describe('when $connect is throttled', () => {
    let disabled: TestStack;
    beforeAll(async () => {
      disabled = await startTestStack({
        stackName: 'connect-disabled',
        dynamoDbEndpoint: stack.chat.dynamoDbEndpoint,
        sqsEndpoint: stack.chat.sqsEndpoint,
        // Reserved concurrency 0: Lambda throttles every invocation.
        templateFile: templateVariant('connect-disabled', (template) => {
          functionOf(template, 'ConnectFunction').properties.ReservedConcurrentExecutions = 0;
        }),
      });
    }, 60_000);
    afterAll(() => disabled?.chat.stop(), 30_000);

    it('refuses the handshake with 500, and no connection is left', async () => {
      const refused = await handshakeStatus(`${disabled.chat.wsUrl}?Auth=${disabled.chat.chatToken}`);
      expect(refused.status).toBe(500);
      expect(disabled.chat.connectionIds()).toEqual([]);
      expect(disabled.chat.functionStats('ConnectFunction')).toMatchObject({ throttles: 1, coldStarts: 0 });
      expect(disabled.invocations.map((i) => i.functionId)).not.toContain('DisconnectFunction');
    });
  });
});
