/**
 * The local gateway behaves as API Gateway's WebSocket API does for this template: routes
 * and functions from template.yaml, the authorizer's 401/403, a refusing $connect, $default,
 * event shapes, frame limits, @connections (checked with the real SDK client), and the idle
 * and maximum-duration closes. Real `ws` clients throughout.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { readCfnTemplate } from '../../local/template/cfn-yaml';
import { TEMPLATE_FILE } from '../../local/template/template-model';
import { ChatClient, type ChatEvent, handshakeStatus } from './support/chat-client';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

const API_GATEWAY_ID = /^[A-Za-z0-9]{15}=$/;
type Invocation = TestStack['invocations'][number];
type WsEvent = { requestContext: Record<string, unknown>; body?: string } & Record<string, unknown>;

describe('the local gateway, as API Gateway', () => {
  let stack: TestStack;
  const open: ChatClient[] = [];
  const connect = async (name = 'client', token?: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, token ?? stack.chat.chatToken, name);
    open.push(client);
    return client;
  };
  const invocationsSince = (start: number) => stack.invocations.slice(start);
  const eventsOf = (functionId: string, connectionId?: string): WsEvent[] =>
    stack.invocations
      .filter((i: Invocation) => i.functionId === functionId)
      .map((i) => i.event as WsEvent)
      .filter((e) => connectionId === undefined || e.requestContext?.connectionId === connectionId);
  /** The connection id the gateway gave a client (from its $connect event, the latest one). */
  const connectionIdOf = () => eventsOf('ConnectFunction').at(-1)?.requestContext.connectionId as string;

  beforeAll(async () => {
    stack = await startTestStack();
  }, 60_000);

  afterAll(async () => {
    for (const client of open) client.terminate();
    await stack?.chat.stop();
  }, 30_000);

  describe('routes', () => {
    it('takes the routes, their functions and the route selection expression from template.yaml', () => {
      const { Resources } = readCfnTemplate(TEMPLATE_FILE);
      const declared = Object.entries(Resources)
        .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
        .map(([, r]) => {
          const target = JSON.stringify(r.Properties?.Target);
          const integration = /integrations\/\$\{(\w+)\}/.exec(target)?.[1] as string;
          const uri = JSON.stringify(Resources[integration]?.Properties?.IntegrationUri);
          return [r.Properties?.RouteKey, /\$\{(\w+)\.Arn\}/.exec(uri)?.[1]];
        });
      expect(stack.chat.model.routes.map((r) => [r.routeKey, r.functionId])).toEqual(declared);
      const api = Object.values(Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Api');
      expect(stack.chat.model.api.routeSelectionExpression).toBe(api?.Properties?.RouteSelectionExpression);
    });

    it('sends each action to the function the template routes it to', async () => {
      const client = await connect('router');
      const messageRoutes = stack.chat.model.routes.filter(
        (r) => !['$connect', '$disconnect'].includes(r.routeKey),
      );
      for (const route of messageRoutes) {
        const start = stack.invocations.length;
        client.send({ action: route.routeKey === '$default' ? 'no-such-action' : route.routeKey });
        const invocation = await eventually(
          () => invocationsSince(start).find((i) => i.functionId !== 'FanoutFunction'),
          `an invocation for ${route.routeKey}`,
        );
        expect([route.routeKey, invocation.functionId]).toEqual([route.routeKey, route.functionId]);
        expect((invocation.event as WsEvent).requestContext.routeKey).toBe(route.routeKey);
      }
    });

    it('answers unknown actions and frames that are not JSON on $default with an error event', async () => {
      const client = await connect('default');
      client.send({ action: 'dance' });
      const unknown = await client.waitFor((e) => e.type === 'error', 'an error event');
      expect(unknown).toMatchObject({ type: 'error', code: 'unknown_action', action: 'dance' });
      client.send('hello, is this JSON?');
      const notJson = await client.waitFor(
        (e) => e.type === 'error' && e.code !== 'unknown_action',
        'bad_request',
      );
      expect(notJson).toMatchObject({ type: 'error', code: 'bad_request' });
      const defaults = eventsOf('DefaultFunction', connectionIdOf());
      expect(defaults.map((e) => e.body)).toEqual(['{"action":"dance"}', 'hello, is this JSON?']);
    });
  });

  describe('handshake', () => {
    it('answers 401 without the Auth query parameter, before any function runs', async () => {
      const start = stack.invocations.length;
      expect((await handshakeStatus(stack.chat.wsUrl)).status).toBe(401);
      expect((await handshakeStatus(`${stack.chat.wsUrl}?Auth=`)).status).toBe(401);
      expect((await handshakeStatus(`${stack.chat.wsUrl}?auth=${stack.chat.chatToken}`)).status).toBe(401);
      expect(invocationsSince(start)).toEqual([]);
    });

    it('answers 403 when the authorizer denies a wrong token, and $connect never runs', async () => {
      const start = stack.invocations.length;
      const refused = await handshakeStatus(`${stack.chat.wsUrl}?Auth=not-the-token-at-all`);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toEqual({ message: 'Forbidden' });
      expect(invocationsSince(start).map((i) => i.functionId)).toEqual(['AuthorizerFunction']);
    });

    it('accepts the chat and admin tokens, on the root and on the stage path', async () => {
      const { wsUrl, chatToken, adminToken } = stack.chat;
      expect((await handshakeStatus(`${wsUrl}?Auth=${chatToken}`)).status).toBe(101);
      expect((await handshakeStatus(`${wsUrl}/dev?Auth=${adminToken}`)).status).toBe(101);
      expect(eventsOf('ConnectFunction').at(-1)?.requestContext.authorizer).toMatchObject({ role: 'admin' });
    });

    it('never writes a token to the log', () => {
      const { chatToken, adminToken } = stack.chat;
      expect(stack.logs.length).toBeGreaterThan(0);
      expect(stack.logs.filter((line) => line.includes(chatToken) || line.includes(adminToken))).toEqual([]);
    });
  });

  describe('events', () => {
    it('hands the functions events shaped as API Gateway sends them', async () => {
      const client = await connect('shapes');
      const id = connectionIdOf();
      client.send({ action: 'sendmessage', message: 'shape check' });
      await client.waitFor((e) => e.type === 'error', 'the not_in_room reply');
      await client.close();
      await eventually(() => eventsOf('DisconnectFunction', id)[0], '$disconnect');

      const { port } = stack.chat;
      const authorizer = stack.invocations
        .filter((i) => i.functionId === 'AuthorizerFunction')
        .map((i) => i.event as WsEvent)
        .find((e) => e.requestContext.connectionId === id) as WsEvent;
      expect(authorizer).toMatchObject({
        type: 'REQUEST',
        methodArn: expect.stringMatching(
          /^arn:aws:execute-api:[a-z0-9-]+:\d{12}:[a-z0-9]{10}\/dev\/\$connect$/,
        ),
        queryStringParameters: { Auth: stack.chat.chatToken },
        headers: expect.objectContaining({ Host: `127.0.0.1:${port}` }),
        requestContext: expect.objectContaining({ routeKey: '$connect', eventType: 'CONNECT' }),
      });

      const [connectEvent] = eventsOf('ConnectFunction', id);
      const context = {
        connectionId: expect.stringMatching(API_GATEWAY_ID),
        requestId: expect.stringMatching(API_GATEWAY_ID),
        extendedRequestId: expect.any(String),
        connectedAt: expect.any(Number),
        requestTimeEpoch: expect.any(Number),
        requestTime: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
        domainName: `127.0.0.1:${port}`,
        stage: 'dev',
        apiId: expect.stringMatching(/^[a-z0-9]{10}$/),
        messageDirection: 'IN',
        identity: expect.objectContaining({ sourceIp: '127.0.0.1' }),
        authorizer: { principalId: 'user', role: 'user', integrationLatency: expect.any(Number) },
      };
      expect(connectEvent).toMatchObject({
        isBase64Encoded: false,
        queryStringParameters: { Auth: stack.chat.chatToken },
        requestContext: { ...context, routeKey: '$connect', eventType: 'CONNECT' },
      });
      expect(connectEvent).not.toHaveProperty('body');

      const [message] = eventsOf('SendMessageFunction', id);
      expect(message).toEqual({
        requestContext: {
          ...context,
          routeKey: 'sendmessage',
          eventType: 'MESSAGE',
          messageId: expect.stringMatching(API_GATEWAY_ID),
          identity: { sourceIp: '127.0.0.1' },
        },
        body: '{"action":"sendmessage","message":"shape check"}',
        isBase64Encoded: false,
      });

      const [disconnect] = eventsOf('DisconnectFunction', id);
      expect(disconnect).toMatchObject({
        isBase64Encoded: false,
        requestContext: {
          ...context,
          routeKey: '$disconnect',
          eventType: 'DISCONNECT',
          disconnectStatusCode: 1000,
          disconnectReason: 'bye',
        },
      });
      expect(connectEvent?.requestContext.connectedAt).toBe(disconnect?.requestContext.connectedAt);
    });
  });

  describe('frames', () => {
    const frameOf = (bytes: number) => {
      const head = '{"action":"dance","pad":"';
      return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
    };
    const sendInFrames = (client: ChatClient, text: string, frameBytes: number) => {
      for (let at = 0; at < text.length; at += frameBytes) {
        client.ws.send(text.slice(at, at + frameBytes), { fin: at + frameBytes >= text.length });
      }
    };

    it('accepts a frame of 32 KB', async () => {
      const client = await connect('32k');
      client.send(frameOf(32 * 1024));
      await client.waitFor((e) => e.type === 'error' && e.code === 'unknown_action', 'the $default reply');
      expect(client.open).toBe(true);
    });

    it('closes with 1009 on a frame over 32 KB, and runs $disconnect', async () => {
      const client = await connect('too-big-frame');
      const id = connectionIdOf();
      client.send(frameOf(32 * 1024 + 1));
      expect(await client.waitClosed()).toEqual({ code: 1009, reason: 'Message too big' });
      const disconnect = await eventually(() => eventsOf('DisconnectFunction', id)[0], '$disconnect');
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1009);
      expect(eventsOf('DefaultFunction', id)).toEqual([]);
    });

    it('accepts a 128 KB message sent in frames of at most 32 KB', async () => {
      const client = await connect('fragments');
      const id = connectionIdOf();
      sendInFrames(client, frameOf(128 * 1024), 32 * 1024);
      await client.waitFor((e) => e.type === 'error' && e.code === 'unknown_action', 'the $default reply');
      expect(eventsOf('DefaultFunction', id)[0]?.body).toHaveLength(128 * 1024);
    });

    it('closes with 1009 on a message over 128 KB, even in small frames', async () => {
      const client = await connect('too-big-message');
      sendInFrames(client, frameOf(128 * 1024 + 1), 16 * 1024);
      expect((await client.waitClosed()).code).toBe(1009);
    });

    it('closes with 1003 on a binary frame (API Gateway accepts text frames only)', async () => {
      const client = await connect('binary');
      const id = connectionIdOf();
      client.ws.send(Buffer.from('{"action":"dance"}'), { binary: true });
      expect((await client.waitClosed()).code).toBe(1003);
      await eventually(() => eventsOf('DisconnectFunction', id)[0], '$disconnect');
      expect(eventsOf('DefaultFunction', id)).toEqual([]);
    });
  });

  describe('@connections', () => {
    let api: ApiGatewayManagementApiClient;
    beforeAll(() => {
      api = new ApiGatewayManagementApiClient({
        endpoint: `${stack.chat.httpUrl}/dev`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      });
    });
    afterAll(() => api.destroy());

    it('POST sends the data to the client as one text frame', async () => {
      const client = await connect('post');
      const id = connectionIdOf();
      await api.send(
        new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode('{"hello":"ä"}') }),
      );
      const event = await client.waitFor((e: ChatEvent) => e.hello !== undefined, 'the posted frame');
      expect(event).toEqual({ hello: 'ä' });
    });

    it('POST delivers messages up to 128 KB whole, and answers an @ sent URL-encoded (%40)', async () => {
      const client = await connect('post-large');
      const id = connectionIdOf();
      const large = JSON.stringify({ big: 'ä'.repeat(50 * 1024) }); // 100 KB of UTF-8
      await api.send(
        new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode(large) }),
      );
      const received = await client.waitFor((e: ChatEvent) => e.big !== undefined, 'the large frame');
      expect(JSON.stringify(received)).toBe(large);

      const raw = await fetch(`${stack.chat.httpUrl}/dev/%40connections/${encodeURIComponent(id)}`, {
        method: 'POST',
        headers: {
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/execute-api/aws4_request',
        },
        body: '{"encoded":true}',
      });
      expect(raw.status).toBe(200);
      await client.waitFor((e: ChatEvent) => e.encoded === true, 'the frame posted via %40connections');
    });

    it('GET describes the connection: connectedAt, identity and lastActiveAt', async () => {
      const before = Date.now();
      const client = await connect('get');
      const id = connectionIdOf();
      client.send({ action: 'dance' });
      await client.waitFor((e) => e.type === 'error', 'the $default reply');
      const described = await api.send(new GetConnectionCommand({ ConnectionId: id }));
      expect(described.ConnectedAt).toBeInstanceOf(Date);
      expect(described.ConnectedAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(described.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(described.ConnectedAt?.getTime() ?? 0);
      expect(described.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: '' });
    });

    it('DELETE closes the connection, and $disconnect runs', async () => {
      const client = await connect('delete');
      const id = connectionIdOf();
      await api.send(new DeleteConnectionCommand({ ConnectionId: id }));
      await client.waitClosed();
      await eventually(() => eventsOf('DisconnectFunction', id)[0], '$disconnect');
      expect(stack.chat.connectionIds()).not.toContain(id);
    });

    it('answers 410 for an unknown or closed connection, which SDK v3 throws as GoneException', async () => {
      const client = await connect('gone');
      const id = connectionIdOf();
      await client.close();
      const post = api.send(
        new PostToConnectionCommand({ ConnectionId: id, Data: new Uint8Array([123, 125]) }),
      );
      await expect(post).rejects.toBeInstanceOf(GoneException);
      await expect(
        api.send(new GetConnectionCommand({ ConnectionId: 'NoSuchConnId0A=' })),
      ).rejects.toMatchObject({
        name: 'GoneException',
        $metadata: { httpStatusCode: 410 },
      });

      const raw = await fetch(`${stack.chat.httpUrl}/dev/@connections/${encodeURIComponent(id)}`, {
        method: 'POST',
        headers: {
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/execute-api/aws4_request',
        },
        body: '{}',
      });
      expect(raw.status).toBe(410);
      expect(raw.headers.get('x-amzn-errortype')).toBe('GoneException');
      expect(await raw.json()).toEqual({ message: expect.any(String) });
    });

    it('answers 413 PayloadTooLargeException for data over 128 KB', async () => {
      await connect('large');
      const id = connectionIdOf();
      const post = api.send(
        new PostToConnectionCommand({ ConnectionId: id, Data: new Uint8Array(128 * 1024 + 1) }),
      );
      await expect(post).rejects.toBeInstanceOf(PayloadTooLargeException);
    });

    it('answers 403 to requests that are not signed, as AWS does', async () => {
      const raw = await fetch(`${stack.chat.httpUrl}/dev/@connections/whatever`, {
        method: 'POST',
        body: '{}',
      });
      expect(raw.status).toBe(403);
    });
  });

  describe('idle timeout and maximum duration', () => {
    let short: TestStack;
    beforeAll(async () => {
      short = await startTestStack({
        stackName: 'short',
        dynamoDbEndpoint: stack.chat.dynamoDbEndpoint,
        sqsEndpoint: stack.chat.sqsEndpoint,
        idleTimeoutMs: 800,
        maxConnectionMs: 2500,
      });
    }, 60_000);
    afterAll(() => short?.chat.stop(), 30_000);
    const disconnectOf = (id: string) =>
      short.invocations
        .filter((i) => i.functionId === 'DisconnectFunction')
        .map((i) => i.event as WsEvent)
        .find((e) => e.requestContext.connectionId === id);

    it('closes a connection that stays idle (1001 Going away) and runs $disconnect', async () => {
      const client = await ChatClient.connect(short.chat.wsUrl, short.chat.chatToken, 'idle');
      const id = short.chat.connectionIds()[0] as string;
      const opened = Date.now();
      expect(await client.waitClosed(5000)).toEqual({ code: 1001, reason: 'Going away' });
      expect(Date.now() - opened).toBeGreaterThanOrEqual(700);
      const disconnect = await eventually(() => disconnectOf(id), '$disconnect');
      expect(disconnect.requestContext).toMatchObject({
        disconnectStatusCode: 1001,
        disconnectReason: 'Going away',
      });
    });

    it('closes a busy connection when it reaches the maximum duration', async () => {
      const client = await ChatClient.connect(short.chat.wsUrl, short.chat.chatToken, 'busy');
      const id = short.chat.connectionIds()[0] as string;
      const opened = Date.now();
      const chatter = setInterval(() => client.open && client.send({ action: 'dance' }), 300);
      try {
        expect((await client.waitClosed(6000)).code).toBe(1001);
      } finally {
        clearInterval(chatter);
      }
      expect(Date.now() - opened).toBeGreaterThanOrEqual(2400);
      expect(client.events.filter((e) => e.code === 'unknown_action').length).toBeGreaterThan(3);
      await eventually(() => disconnectOf(id), '$disconnect');
    });
  });

  describe('a $connect that answers non-2xx', () => {
    let broken: TestStack;
    beforeAll(async () => {
      broken = await startTestStack({
        stackName: 'broken',
        dynamoDbEndpoint: stack.chat.dynamoDbEndpoint,
        sqsEndpoint: stack.chat.sqsEndpoint,
        functionEnv: { TABLE_NAME: 'no-such-table' },
      });
    }, 60_000);
    afterAll(() => broken?.chat.stop(), 30_000);

    it('refuses the handshake with its status, and no connection is left open', async () => {
      const refused = await handshakeStatus(`${broken.chat.wsUrl}?Auth=${broken.chat.chatToken}`);
      expect(refused.status).toBe(500);
      const connect = broken.invocations.find((i) => i.functionId === 'ConnectFunction');
      expect(connect?.ok).toBe(true); // the function ran and answered { statusCode: 500 }
      expect(broken.chat.connectionIds()).toEqual([]);
      expect(broken.invocations.map((i) => i.functionId)).not.toContain('DisconnectFunction');
    });
  });
});
