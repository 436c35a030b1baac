/**
 * Frames of one connection are handled concurrently, as API Gateway handles them: a frame
 * whose route is slow does not hold the next one back (each runs in a sandbox of its own).
 * `frameOrdering: 'serial'` (CLI `--serial-frames`) keeps the older one-at-a-time order.
 * A template variant puts a probe behind $default; real `ws` clients.
 */
import { ChatClient, type ChatEvent } from './support/chat-client';
import { startTestStack, type TestStack, templateVariant, useFixture } from './support/test-stack';

const probeTemplate = () =>
  templateVariant('slow-default', (template) => useFixture(template, 'DefaultFunction', 'slow-route.ts'));

describe('frames of one connection', () => {
  let stack: TestStack;
  let serial: TestStack;
  const open: ChatClient[] = [];
  const connect = async (on: TestStack, name: string) => {
    const client = await ChatClient.connect(on.chat.wsUrl, on.chat.chatToken, name);
    open.push(client);
    return client;
  };
  const probes = (client: ChatClient) => client.events.filter((e: ChatEvent) => e.probe !== undefined);

  beforeAll(async () => {
    const templateFile = probeTemplate();
    // The default, as `npm start` and every test stack run it.
    stack = await startTestStack({ templateFile });
    serial = await startTestStack({
      templateFile,
      stackName: 'serial-frames',
      frameOrdering: 'serial',
      dynamoDbEndpoint: stack.chat.dynamoDbEndpoint,
      sqsEndpoint: stack.chat.sqsEndpoint,
    });
  }, 90_000);

  afterAll(async () => {
    for (const client of open) client.terminate();
    await serial?.chat.stop();
    await stack?.chat.stop();
  }, 30_000);

  it('run concurrently by default: a slow frame does not hold the next one back', async () => {
    const client = await connect(stack, 'concurrent');
    client.send({ action: 'probe', label: 'slow', ms: 1500 });
    client.send({ action: 'probe', label: 'fast' });

    const [first, second] = await client.waitForCount(
      (e) => e.probe !== undefined,
      2,
      'both answers',
      10_000,
    );
    expect([first?.probe, second?.probe]).toEqual(['fast', 'slow']);
    // Two invocations at once: two sandboxes.
    expect(first?.sandboxId).not.toBe(second?.sandboxId);
    expect(stack.chat.functionStats('DefaultFunction').peakConcurrency).toBeGreaterThanOrEqual(2);
  });

  it("run one at a time, in order, with frameOrdering 'serial'", async () => {
    const client = await connect(serial, 'serial');
    client.send({ action: 'probe', label: 'slow', ms: 1000 });
    client.send({ action: 'probe', label: 'fast' });

    await client.waitForCount((e) => e.probe !== undefined, 2, 'both answers', 10_000);
    expect(probes(client).map((e) => e.probe)).toEqual(['slow', 'fast']);
    expect(serial.chat.functionStats('DefaultFunction').peakConcurrency).toBe(1);
  });
});
