/**
 * The fanout against its clock, through the whole local stack: a Timeout shortened to 3 s that
 * really kills the sandbox (local/lambda/sandboxes.ts), @connections posts slowed down, and a busy
 * room. Nothing accepted may be lost to the timeout (the fanout stops starting records in time
 * and hands the rest back unstarted), and one transient failure holds a room up for seconds,
 * not for the queue's visibility timeout. Real `ws` clients throughout.
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { firesFirst } from '../../local/faults/faults';
import { ChatClient, type ChatEvent } from './support/chat-client';
import { startTestStack, type TestStack } from './support/test-stack';

const FANOUT_TIMEOUT_S = 3;
/** As the template: six times the fanout's Timeout. */
const VISIBILITY_TIMEOUT_S = 6 * FANOUT_TIMEOUT_S;

describe('the fanout against its Timeout', () => {
  let stack: TestStack;
  let sqs: SQSClient;
  const open: ChatClient[] = [];

  const connect = async (name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, stack.chat.chatToken, name);
    open.push(client);
    return client;
  };
  const room = async (roomId: string, size: number) => {
    const members: ChatClient[] = [];
    for (let i = 0; i < size; i++) {
      const member = await connect(`${roomId}-${i}`);
      await member.enter(roomId, `${roomId}${i}`);
      members.push(member);
    }
    return members;
  };
  const messagesOf = (client: ChatClient, roomId: string) =>
    client.events
      .filter((e: ChatEvent) => e.type === 'message' && e.roomId === roomId)
      .filter((e, i, all) => all.findIndex((x) => x.id === e.id) === i)
      .map((e) => String(e.message));
  const deadLettered = async () => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.chat.deadLetterQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0);
  };
  const fanoutInvocations = () => stack.invocations.filter((i) => i.functionId === 'FanoutFunction');

  beforeAll(async () => {
    stack = await startTestStack({
      functionTimeouts: { FanoutFunction: FANOUT_TIMEOUT_S },
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_S,
    });
    sqs = new SQSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      endpoint: stack.chat.sqsEndpoint,
    });
  }, 60_000);

  afterEach(() => {
    stack.chat.faults.connections.delayMs = 0;
    stack.chat.faults.connections.failRate = 0;
    stack.chat.faults.random = Math.random;
  });

  afterAll(async () => {
    for (const client of open) client.terminate();
    sqs?.destroy();
    await stack?.chat.stop();
  }, 30_000);

  it('loses no accepted message when a batch takes longer than the Timeout: the rest comes back unstarted', async () => {
    const roomId = 'slow';
    const members = await room(roomId, 6);
    const sender = members[0] as ChatClient;
    const before = fanoutInvocations().length;
    // Each record takes ~0.4 s (its posts run in parallel): a batch of 10 needs ~4 s of a 3 s Timeout.
    stack.chat.faults.connections.delayMs = 400;

    const sent = Array.from({ length: 20 }, (_, i) => `hidas ${i + 1}`);
    for (const message of sent) sender.send({ action: 'sendmessage', roomId, message });

    for (const member of members) {
      await member.waitFor(
        () => messagesOf(member, roomId).length >= sent.length,
        `${member.name} to get all ${sent.length} messages`,
        60_000,
      );
    }
    // Sent without waiting, they may be logged in another order (concurrent frames); all of
    // them, once, in one order for everyone.
    const order = messagesOf(sender, roomId);
    expect([...order].sort()).toEqual([...sent].sort());
    for (const member of members) expect(messagesOf(member, roomId)).toEqual(order);
    const invocations = fanoutInvocations().slice(before);
    // No sandbox was killed at its Timeout, and it took more than one invocation per batch.
    expect(invocations.filter((i) => !i.ok)).toEqual([]);
    expect(invocations.length).toBeGreaterThan(Math.ceil(sent.length / 10));
    expect(await deadLettered()).toBe(0);
  }, 120_000);

  it('holds a room up for seconds, not for the visibility timeout, after one transient failure', async () => {
    const roomId = 'blip';
    const [sender, reader] = (await room(roomId, 2)) as [ChatClient, ChatClient];
    // The next 8 posts fail: every attempt (4) of both posts of the first record, which fails once.
    stack.chat.faults.connections.failStatus = 500;
    stack.chat.faults.connections.failRate = 0.5;
    stack.chat.faults.random = firesFirst(8);
    const logsBefore = stack.logs.length;

    const started = Date.now();
    sender.send({ action: 'sendmessage', roomId, message: 'eka' });
    sender.send({ action: 'sendmessage', roomId, message: 'toka' });
    await reader.waitFor(
      () => messagesOf(reader, roomId).length >= 2,
      'both messages after the failure',
      VISIBILITY_TIMEOUT_S * 1000,
    );
    const stalledMs = Date.now() - started;

    // Both frames are handled at once (as API Gateway does), so either may reach the log first;
    // whichever it is fails once, and the other waits behind it in the room's group.
    expect(messagesOf(reader, roomId).sort()).toEqual(['eka', 'toka']);
    await sender.waitFor(() => messagesOf(sender, roomId).length >= 2, 'its own copies', 5_000);
    expect(messagesOf(sender, roomId)).toEqual(messagesOf(reader, roomId));
    const failed = stack.logs.slice(logsBefore).filter((line) => line.includes('record failed'));
    expect(failed).toHaveLength(1);
    // The failed record came back after ~1 s (ChangeMessageVisibility), not after 18 s.
    expect(stalledMs).toBeLessThan(5_000);
  }, 60_000);
});
