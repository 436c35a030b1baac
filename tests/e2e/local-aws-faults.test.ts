/**
 * The faults AWS really produces, reaching the chat's functions through the whole local
 * stack: an ambiguous SQS publish (accepted, then answered 500) that the SDK retries and FIFO
 * deduplication delivers once; a TransactWriteItems cancelled by a TransactionConflict; and
 * a fanout killed at its (locally shortened) Timeout while an @connections post is in flight:
 * the event still reaches the member, once after dropping repeats by id. Real `ws` clients throughout.
 */
import { firesFirst } from '../../local/faults/faults';
import { ChatClient, type ChatEvent } from './support/chat-client';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

const FANOUT_TIMEOUT_S = 2;
/** Lambda refuses a visibility timeout shorter than the function's Timeout. */
const VISIBILITY_TIMEOUT_S = FANOUT_TIMEOUT_S;

describe('AWS faults through the local stack', () => {
  let stack: TestStack;
  const open: ChatClient[] = [];
  const connect = async (name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
    open.push(client);
    return client;
  };
  const messages = (client: ChatClient) =>
    client.events.filter((e: ChatEvent) => e.type === 'message').map((e) => e.message as string);

  beforeAll(async () => {
    stack = await startTestStack({
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_S,
      functionTimeouts: { FanoutFunction: FANOUT_TIMEOUT_S },
      // Both fault proxies in the functions' path, all switches off until a test turns one on.
      faults: { sqs: {}, dynamodb: {} },
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of open) client.terminate();
    await stack?.chat.stop();
  }, 30_000);

  afterEach(() => {
    stack.chat.faults.random = Math.random;
    stack.chat.faults.sqs.ambiguousRate = 0;
    stack.chat.faults.dynamodb.transactionConflictRate = 0;
    stack.chat.faults.connections.delayMs = 0;
  });

  it('delivers once a room event whose SQS publish was accepted but answered 500 (the SDK retried it)', async () => {
    const mikki = await connect('Mikki');
    await mikki.enter('ambiguous', 'Mikki');
    const proxy = stack.chat.sqsFaultProxy;
    if (!proxy) throw new Error('the SQS fault proxy is not in the path');
    const before = Object.values(proxy.faulted.ambiguous).reduce((a, b) => a + b, 0);
    stack.chat.faults.sqs.ambiguousRate = 0.5;
    stack.chat.faults.random = firesFirst(1);

    mikki.send({ action: 'sendmessage', roomId: 'ambiguous', message: 'kerran' });
    await mikki.waitFor((e) => e.type === 'message' && e.message === 'kerran', 'the message');
    expect(Object.values(proxy.faulted.ambiguous).reduce((a, b) => a + b, 0)).toBe(before + 1);
    // A later message is the proof that nothing more of 'kerran' is coming (one room order).
    mikki.send({ action: 'sendmessage', roomId: 'ambiguous', message: 'sitten' });
    await mikki.waitFor((e) => e.type === 'message' && e.message === 'sitten', 'the next message');
    expect(messages(mikki)).toEqual(['kerran', 'sitten']);
    expect(mikki.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('hands the function a TransactionCanceledException when DynamoDB cancels a transaction', async () => {
    const aku = await connect('Aku');
    const proxy = stack.chat.dynamoDbFaultProxy;
    if (!proxy) throw new Error('the DynamoDB fault proxy is not in the path');
    const before = proxy.failures.TransactWriteItems ?? 0;
    stack.chat.faults.dynamodb.transactionConflictRate = 1;

    aku.send({ action: 'enterroom', roomId: 'conflict', nickname: 'Aku' });
    await aku.waitFor((e) => e.type === 'error', 'an error for the cancelled enter');
    expect(proxy.failures.TransactWriteItems ?? 0).toBeGreaterThan(before);
    expect(aku.events.some((e) => e.type === 'entered')).toBe(false);

    // Nothing of it was written: the same enter succeeds once DynamoDB lets it.
    stack.chat.faults.dynamodb.transactionConflictRate = 0;
    expect(await aku.enter('conflict', 'Aku')).toMatchObject({ members: ['Aku'] });
  });

  it('kills the fanout at its Timeout mid-batch: the event comes back and reaches the member, once by id', async () => {
    const hessu = await connect('Hessu');
    await hessu.enter('timeout', 'Hessu');
    // Only the fanout has this Timeout (the error line follows its invocation line in the log).
    const timedOut = () =>
      stack.logs.filter((l) =>
        l.includes(`Sandbox.Timedout: Task timed out after ${FANOUT_TIMEOUT_S}.00 seconds`),
      ).length;
    const before = timedOut();
    // Every @connections post takes longer than the fanout's whole Timeout.
    stack.chat.faults.connections.delayMs = (FANOUT_TIMEOUT_S + 0.5) * 1000;

    hessu.send({ action: 'sendmessage', roomId: 'timeout', message: 'myöhässä' });
    // Two killed attempts: the first one's post would have landed (2.5 s in) before the second ended.
    await eventually(() => timedOut() >= before + 2, 'two fanout timeouts', 15_000);
    expect(messages(hessu)).toEqual([]);

    stack.chat.faults.connections.delayMs = 0;
    await hessu.waitFor(
      (e) => e.type === 'message' && e.message === 'myöhässä',
      'the message after the fault',
    );
    hessu.send({ action: 'sendmessage', roomId: 'timeout', message: 'perässä' });
    await hessu.waitFor((e) => e.type === 'message' && e.message === 'perässä', 'the next message');
    // A post already sent when its caller was killed may still land (API Gateway has it), as
    // may the retry's: repeats carry the same id and seq.
    const byId = new Map(
      hessu.events.filter((e: ChatEvent) => e.type === 'message').map((e) => [e.id, e] as const),
    );
    expect([...byId.values()].map((e) => e.message)).toEqual(['myöhässä', 'perässä']);
    expect(messages(hessu).filter((m) => m === 'myöhässä').length).toBeLessThanOrEqual(3);
  }, 30_000);
});
