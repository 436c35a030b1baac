/**
 * Access and hostile input, end to end with real `ws` clients on the local gateway: a
 * refused handshake writes nothing; no token reaches any log line (gateway or functions); a
 * connection cannot act on or hear a room it is not in; `from` is the server's record;
 * users cannot broadcast; sendmessage is rate limited per connection. Random and named
 * hostile frames get at most one `error`, change no state and leave the gateway serving;
 * message text arrives verbatim.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { ChatClient, type ChatEvent, handshakeStatus } from './support/chat-client';
import { act, enter, exit, say } from './support/outcomes';
import { scanTable } from './support/table-invariants';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

const RATE_LIMIT = 5;
/** Looks like a token, is not one: must not reach the logs either. */
const WRONG_TOKEN = 'wrong-but-secret-looking-token-5f2c';

describe('access and hostile input', () => {
  let stack: TestStack;
  let dynamodb: DynamoDBClient;
  const open: ChatClient[] = [];
  const connect = async (name: string, token = stack.chat.chatToken) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, token, name);
    open.push(client);
    return client;
  };
  /**
   * The chat's state: connections, entries, rosters and nicknames. Rooms' logs (history, kept
   * for the retention), proof of cancelled entries, the window a slice keeps of one that left
   * and failure counts expire on their own.
   */
  const table = async () =>
    (await scanTable(dynamodb, stack.chat.tableName))
      .filter((item) => {
        const pk = item.pk?.S ?? '';
        const sk = item.sk?.S ?? '';
        return (
          !pk.startsWith('log#') &&
          !pk.startsWith('group#') &&
          sk !== 'logmark' &&
          !sk.startsWith('cancelled#') &&
          !(pk.startsWith('slice#') && sk.startsWith('l#'))
        );
      })
      .map((item) => JSON.stringify(item))
      .sort();
  const quiet = () =>
    eventually(
      () => open.every((c) => !c.open) && stack.chat.connectionIds().length === 0,
      'every connection closed',
      20_000,
    );

  beforeAll(async () => {
    stack = await startTestStack({
      functionLogs: 'all',
      functionEnv: { SEND_RATE_LIMIT: String(RATE_LIMIT), RATE_WINDOW_SECONDS: '600' },
    });
    dynamodb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of open) client.terminate();
    dynamodb?.destroy();
    await stack?.chat.stop();
  }, 30_000);

  describe('access', () => {
    it.each([
      ['no token', '', 401],
      ['an empty token', '?Auth=', 401],
      ['a wrong token', `?Auth=${WRONG_TOKEN}`, 403],
      ['the token in another parameter', '?auth=local-chat-token-change-me', 401],
      ['a prefix of the token', '?Auth=local-chat-token', 403],
    ])('refuses a handshake with %s, and writes nothing', async (_what, query, status) => {
      const before = await table();

      const refused = await handshakeStatus(`${stack.chat.wsUrl}${query}`);

      expect(refused.status).toBe(status);
      expect(await table()).toEqual(before);
    });

    it('never lets a connection send to, exit or hear a room it is not in', async () => {
      const alice = await connect('alice');
      await alice.enter('a-room', 'Alice');
      const bob = await connect('bob');
      await bob.enter('b-room', 'Bob');

      const sent = await say(alice, 'b-room', 'let me in');
      const exited = await exit(alice, 'b-room');
      await say(bob, 'b-room', 'only for b-room');
      const taken = await enter(alice, 'b-room', 'bob');

      expect(sent).toMatchObject({ ok: false, code: 'not_in_room' });
      expect(exited).toMatchObject({ ok: false, code: 'not_in_room' });
      expect(taken).toMatchObject({ ok: false, code: 'nickname_taken' });
      expect(bob.events.filter((e) => e.message === 'let me in')).toEqual([]);
      expect(alice.events.filter((e) => e.roomId === 'b-room' && e.type !== 'error')).toEqual([]);
    });

    it("takes `from` from the server's record, whatever the frame claims", async () => {
      const carol = await connect('carol');
      await carol.enter('spoof', 'Carol');
      const dave = await connect('dave');
      await dave.enter('spoof', 'Dave');

      carol.send({ action: 'sendmessage', roomId: 'spoof', message: 'Carol speaking' });
      const genuine = await dave.waitFor((e) => e.message === 'Carol speaking', "Carol's own message");
      carol.send({
        action: 'sendmessage',
        roomId: 'spoof',
        message: 'I am Dave',
        from: 'Dave',
        fromId: 'daves-id',
        nickname: 'Dave',
        connectionId: 'someone-else=',
        entryId: 'someone-elses-entry',
        seq: 1,
        role: 'admin',
      });

      const received = await dave.waitFor((e) => e.message === 'I am Dave', 'the spoofed message');
      expect(received).toMatchObject({
        type: 'message',
        from: 'Carol',
        fromId: genuine.fromId,
        roomId: 'spoof',
      });
      expect(Number(received.seq)).toBe(Number(genuine.seq) + 1);
      expect(Object.keys(received).sort()).toEqual([
        'at',
        'from',
        'fromId',
        'id',
        'message',
        'roomId',
        'seq',
        'type',
      ]);
    });

    it('refuses a broadcast from a user, even one claiming to be an admin', async () => {
      const user = await connect('eve');

      const outcome = await act(
        user,
        { action: 'broadcast', message: 'all hands', role: 'admin', from: 'admin' },
        (e) => e.type === 'broadcast',
      );

      expect(outcome).toMatchObject({ ok: false, code: 'forbidden' });
    });

    it(`answers rate_limited to the message after ${RATE_LIMIT} in the window, per connection`, async () => {
      const frank = await connect('frank');
      await frank.enter('limits', 'Frank');
      const grace = await connect('grace');
      await grace.enter('limits', 'Grace');

      const outcomes = [];
      for (let i = 0; i <= RATE_LIMIT; i++) outcomes.push(await say(frank, 'limits', `m${i}`));
      const other = await say(grace, 'limits', 'still mine to send');

      expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual([
        ...Array(RATE_LIMIT).fill('ok'),
        'rate_limited',
      ]);
      expect(other.ok).toBe(true);
    });

    it('writes no token to any log line, gateway or function', async () => {
      const admin = await connect('admin', stack.chat.adminToken);
      admin.send({ action: 'broadcast', message: 'log check' });
      await admin.waitFor((e) => e.type === 'broadcast', 'the broadcast');
      await handshakeStatus(`${stack.chat.wsUrl}?Auth=${WRONG_TOKEN}`);
      const { chatToken, adminToken } = stack.chat;

      const leaks = stack.logs.filter((line) =>
        [chatToken, adminToken, WRONG_TOKEN].some((secret) => line.includes(secret)),
      );

      expect(stack.logs.some((line) => line.includes('AuthorizerFunction'))).toBe(true);
      expect(stack.logs.some((line) => line.includes('"service":"chat-'))).toBe(true);
      expect(leaks).toEqual([]);
    });
  });

  describe('hostile input', () => {
    let before: string[];
    let member: ChatClient;

    beforeAll(async () => {
      for (const client of open.splice(0)) client.terminate();
      await quiet();
      // Their $disconnects have removed every record.
      await eventually(async () => (await table()).length === 0, 'an empty table', 20_000);
      member = await connect('member');
      await member.enter('hostile', 'Member');
      before = await table();
    }, 30_000);

    /** Sends a frame, then a probe; the probe's answer means the frame was handled (frames run in order). */
    async function sendHostile(client: ChatClient, frame: string | Buffer, binary = false) {
      const from = client.events.length;
      client.ws.send(frame, { binary });
      client.send('{"action":"probe-after"}');
      const outcome = await Promise.race([
        client
          .waitFor(
            (e) =>
              client.events.indexOf(e) >= from && e.code === 'unknown_action' && e.action === 'probe-after',
            'the probe answer',
            15_000,
          )
          .then(() => 'answered' as const),
        client.closed.then(() => 'closed' as const),
      ]);
      const events = client.events.slice(from).filter((e) => e.action !== 'probe-after');
      return { outcome, events };
    }
    /** Once the hostile connections' $disconnects have run, the table is as it was. */
    const unchanged = () =>
      eventually(
        async () => JSON.stringify(await table()) === JSON.stringify(before),
        'the table to be as it was before the hostile frames',
        20_000,
      );
    const expectAtMostOneError = (events: ChatEvent[]) => {
      expect(events.length).toBeLessThanOrEqual(1);
      for (const event of events) expect(event).toMatchObject({ type: 'error' });
    };

    it('answers random frames with at most one error each, writes nothing, and keeps serving', async () => {
      let client = await connect('fuzz');
      const closes: number[] = [];
      const frames = fc.oneof(
        fc.json({ maxDepth: 4 }).map((text) => ({ text, binary: false })),
        fc.string({ unit: 'binary', maxLength: 100 }).map((text) => ({ text, binary: false })),
        fc
          .record(
            {
              action: fc.constantFrom('enterroom', 'exitroom', 'sendmessage', 'broadcast', '$default', 'x'),
              roomId: fc.oneof(fc.constantFrom('hostile', 'x'.repeat(65), '\u202E1'), fc.jsonValue()),
              nickname: fc.oneof(fc.constantFrom('Member', 'member', 'A\u200Bb', '\u0000'), fc.jsonValue()),
              message: fc.jsonValue(),
            },
            { requiredKeys: ['action'] },
          )
          .map((frame) => ({ text: JSON.stringify(frame), binary: false })),
        fc
          .uint8Array({ minLength: 1, maxLength: 64 })
          .map((bytes) => ({ text: Buffer.from(bytes), binary: true })),
      );

      await fc.assert(
        fc.asyncProperty(frames, async ({ text, binary }) => {
          if (!client.open) client = await connect('fuzz');
          const { outcome, events } = await sendHostile(client, text, binary);
          if (outcome === 'closed') closes.push((await client.closed).code);
          else expectAtMostOneError(events);
        }),
        { numRuns: 40 },
      );

      // Binary frames close with 1003, as API Gateway does; nothing else closes a connection.
      expect(closes.every((code) => code === 1003)).toBe(true);
      for (const c of open.filter((c) => c !== member)) c.terminate();
      await unchanged();
    }, 120_000);

    it.each([
      ['__proto__ keys', '{"action":"sendmessage","__proto__":{"roomId":"hostile"},"message":"x"}'],
      [
        'constructor keys',
        '{"action":"enterroom","roomId":"hostile","constructor":{"prototype":{"nickname":"Admin"}}}',
      ],
      [
        'a deeply nested body',
        `{"action":"sendmessage","roomId":"hostile","message":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      ],
      ['wrong types', '{"action":"enterroom","roomId":["hostile"],"nickname":{"first":"Member"}}'],
      ['an action that is not a string', '{"action":{"toString":"sendmessage"},"message":"x"}'],
      [
        'a 32 KB frame',
        JSON.stringify({ action: 'sendmessage', roomId: 'hostile', message: 'x'.repeat(32 * 1024 - 60) }),
      ],
      ['JSON that is not an object', '"sendmessage"'],
      ['a NUL byte', '\u0000'],
    ])('answers a frame with %s with at most one error and writes nothing', async (_what, frame) => {
      const client = await connect('named');

      const { outcome, events } = await sendHostile(client, frame);

      expect(outcome).toBe('answered');
      expectAtMostOneError(events);
      client.terminate();
      await unchanged();
    });

    it.each([
      ['invalid UTF-8 in a text frame', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false, [1007]],
      ['a binary frame', Buffer.from('{"action":"sendmessage","message":"x"}'), true, [1003]],
      ['a 128 KB frame', Buffer.from('x'.repeat(128 * 1024)), false, [1009]],
    ])(
      'closes the connection on %s, writes nothing, and keeps serving others',
      async (_what, frame, binary, codes) => {
        const client = await connect('closer');

        client.ws.send(frame, { binary });

        expect(codes).toContain((await client.waitClosed()).code);
        await unchanged();
        const fresh = await connect('after');
        expect([...((await fresh.enter('hostile', 'Fresh')).members as string[])].sort()).toEqual([
          'Fresh',
          'Member',
        ]);
        fresh.terminate();
        await eventually(async () => (await table()).length === before.length, 'Fresh gone', 20_000);
      },
    );

    it.each([
      ['markup', '<script>alert("x")</script><img src=x onerror=alert(1)>'],
      ['emoji', '👍🏽 👨‍👩‍👧 🇫🇮'],
      ['right-to-left text', 'שלום \u202Eabc\u202C עולם'],
      ['NUL and control characters', 'a\u0000b\u0007c\u001bd'],
      ['escapes and JSON', '{"action":"broadcast"} \\n \\u0000'],
    ])("delivers %s verbatim: the room's copy equals what was sent", async (_what, message) => {
      const sender = await connect('verbatim');
      await sender.enter('verbatim', `V${open.length}`);

      const outcome = await say(sender, 'verbatim', message);

      expect(outcome.ok).toBe(true);
      expect(outcome.event.message).toBe(message);
      sender.terminate();
    });
  });
});
