/**
 * The order of a WebSocket handshake, as API Gateway keeps it: a malformed upgrade request
 * (a bad Sec-WebSocket-Key, version or Upgrade header) is refused with 400 before any
 * function runs, and every connection whose $connect succeeded gets its $disconnect, also
 * when the client leaves (drops or half-closes) while $connect is still running: no
 * connection record is left behind. Raw TCP clients, to send what `ws` would not.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanTable } from './support/table-invariants';
import {
  eventually,
  functionOf,
  startTestStack,
  type TestStack,
  templateVariant,
  useFixture,
} from './support/test-stack';

type WsEvent = { requestContext: { connectionId: string; disconnectStatusCode?: number } };

describe('the handshake, in API Gateway order', () => {
  let stack: TestStack;
  let ddb: DynamoDBClient;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    stack = await startTestStack({
      templateFile: templateVariant('slow-connect', (template) => {
        useFixture(template, 'ConnectFunction', 'slow-connect.ts');
        const { properties } = functionOf(template, 'ConnectFunction');
        const environment = (properties.Environment ?? {}) as { Variables?: Record<string, unknown> };
        properties.Environment = { Variables: { ...environment.Variables, CONNECT_DELAY_MS: '1000' } };
      }),
    });
    ddb = new DynamoDBClient({
      endpoint: stack.chat.dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    ddb?.destroy();
    await stack?.chat.stop();
  }, 30_000);

  /** Opens a TCP connection and sends an upgrade request with these headers (raw, as written). */
  const upgrade = (headers: Record<string, string>, path = `/?Auth=${stack.chat.chatToken}`) => {
    const socket = net.connect(stack.chat.port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    const lines = Object.entries({
      Host: `127.0.0.1:${stack.chat.port}`,
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      ...headers,
    }).map(([name, value]) => `${name}: ${value}`);
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    const statusLine = () =>
      eventually(() => received.includes('\r\n') && received.split('\r\n')[0], 'an answer');
    return { socket, statusLine };
  };
  const functionsSince = (start: number) => stack.invocations.slice(start).map((i) => i.functionId);

  it.each([
    ['a Sec-WebSocket-Key that is not 16 bytes of base64', { 'Sec-WebSocket-Key': 'not-a-key' }],
    ['no Sec-WebSocket-Key', { 'Sec-WebSocket-Key': '' }],
    ['an unsupported Sec-WebSocket-Version', { 'Sec-WebSocket-Version': '12' }],
    ['an Upgrade header that is not websocket', { Upgrade: 'h2c' }],
  ])('refuses a handshake with %s with 400, before any function runs', async (_what, headers) => {
    const start = stack.invocations.length;
    const { statusLine } = upgrade(headers);
    expect(await statusLine()).toBe('HTTP/1.1 400 Bad Request');
    expect(functionsSince(start)).toEqual([]);
    expect(stack.chat.connectionIds()).toEqual([]);
  });

  it.each([
    ['half-closes (FIN)', (socket: net.Socket) => socket.end()],
    ['drops the connection', (socket: net.Socket) => socket.destroy()],
  ])(
    'runs $disconnect for a client that %s while $connect runs, and leaves no record',
    async (_what, leave) => {
      const start = stack.invocations.length;
      const { socket } = upgrade({});
      await eventually(() => stack.chat.functionStats('ConnectFunction').busy === 1, '$connect to run');
      leave(socket);

      const connect = await eventually(
        () => stack.invocations.slice(start).find((i) => i.functionId === 'ConnectFunction'),
        '$connect to finish',
      );
      expect(connect.ok).toBe(true);
      const { connectionId } = (connect.event as WsEvent).requestContext;
      const disconnect = await eventually(
        () =>
          stack.invocations
            .slice(start)
            .find(
              (i) =>
                i.functionId === 'DisconnectFunction' &&
                (i.event as WsEvent).requestContext.connectionId === connectionId,
            ),
        '$disconnect for the connection that never opened',
      );
      expect((disconnect.event as WsEvent).requestContext.disconnectStatusCode).toBe(1006);
      expect(stack.chat.connectionIds()).toEqual([]);
      const left = (await scanTable(ddb, stack.chat.tableName)).filter(
        (item) => item.pk?.S === `conn#${connectionId}`,
      );
      expect(left).toEqual([]);
    },
  );
});
