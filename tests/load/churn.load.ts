/**
 * Churn on the local stack (loopback only, bounded, stops by itself): LOAD_CHURN_CLIENTS
 * clients (default 100) connect, enter one of a few rooms, say something and drop (half
 * close politely, half vanish without a close frame) in a loop for LOAD_CHURN_SECONDS
 * (default 60). Once the churn stops, no membership, roster entry, nickname or connection
 * record is left behind, and the table never pointed at itself inconsistently.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chatStateItems, tableInconsistencies } from '../e2e/support/table-invariants';
import { eventually, startTestStack, type TestStack } from '../e2e/support/test-stack';
import { envInt, LoadClient } from './support';

const CLIENTS = envInt('LOAD_CHURN_CLIENTS', 100);
const SECONDS = envInt('LOAD_CHURN_SECONDS', 60);
const ROOMS = 5;

describe(`${CLIENTS} clients connecting and dropping for ${SECONDS} s`, () => {
  let stack: TestStack;
  let dynamodb: DynamoDBClient;

  beforeAll(async () => {
    stack = await startTestStack({ functionLogs: 'errors' });
    dynamodb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 120_000);

  afterAll(async () => {
    dynamodb?.destroy();
    await stack?.chat.stop();
  }, 120_000);

  it('leaves no orphaned membership, nickname or connection once the churn stops', async () => {
    const until = Date.now() + SECONDS * 1000;
    let cycles = 0;
    let checks = 0;
    const problems: string[] = [];
    // Mid-churn snapshots. A Scan is no snapshot (DynamoDB reads each item on its own, and
    // transactions land between pages), and a leave frees the nickname in a write of its own
    // right after the transaction that logs it: a problem counts only if the next check, 2 s
    // later, still sees it.
    let previous = new Set<string>();
    const inspector = (async () => {
      while (Date.now() < until) {
        const seen = new Set(await tableInconsistencies(dynamodb, stack.chat.tableName));
        problems.push(...[...seen].filter((problem) => previous.has(problem)));
        previous = seen;
        checks++;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    })();

    await Promise.all(
      Array.from({ length: CLIENTS }, async (_w, worker) => {
        for (let n = 0; Date.now() < until; n++) {
          const client = await LoadClient.connect(`${stack.chat.wsUrl}?Auth=${stack.chat.chatToken}`);
          const roomId = `churn-${(worker + n) % ROOMS}`;
          client.send({ action: 'enterroom', roomId, nickname: `w${worker}n${n}` });
          if (n % 3 === 0) {
            await client.until(() => client.entered, 'entered', 30_000).catch(() => undefined);
            client.send({ action: 'sendmessage', roomId, message: `hello from ${worker}/${n}` });
          }
          if (n % 2 === 0) await client.close();
          else client.ws.terminate();
          cycles++;
        }
      }),
    );
    await inspector;
    const churnEnded = Date.now();

    await eventually(() => stack.chat.connectionIds().length === 0, 'every connection closed', 60_000);
    const leftovers = await eventually(
      async () => {
        const items = await chatStateItems(dynamodb, stack.chat.tableName);
        return items.length === 0 ? items : undefined;
      },
      'every record of the churned connections to go',
      120_000,
      500,
    ).catch(async () => chatStateItems(dynamodb, stack.chat.tableName));
    process.stdout.write(
      `\nCHURN RESULT ${JSON.stringify({ clients: CLIENTS, seconds: SECONDS, cycles, checks, cleanAfterMs: Date.now() - churnEnded })}\n`,
    );

    expect(cycles).toBeGreaterThan(CLIENTS);
    expect(problems).toEqual([]);
    expect(leftovers.map((item) => `${item.pk?.S}/${item.sk?.S}`)).toEqual([]);
  });
});
