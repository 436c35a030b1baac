/**
 * Both notifiers the fanout can post with, one suite against the local `@connections` server:
 * ApiGatewayNotifier (the real SDK v3 management API client) and SignedConnectionsNotifier
 * (its own SigV4 on undici). Each must answer the same: delivery, 410 → gone, retries of
 * 429/5xx/resets/timeouts, no retry of other 4xx, the attempt cap and the deadline, and
 * keep-alive socket reuse. Also checks that the server's error responses are what the SDK
 * turns into its modelled exceptions.
 */
import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  ApiGatewayNotifier,
  managementApiClient,
} from '../../functions/shared/adapters/api-gateway-notifier';
import { SignedConnectionsNotifier } from '../../functions/shared/adapters/signed-connections-notifier';
import type { ConnectionNotifier } from '../../functions/shared/ports';
import { type ConnectionsServer, startConnectionsServer } from '../support/connections-server';
import { CREDENTIALS, REGION } from '../support/local-aws';
import { waitFor } from '../support/wait-for';

const FAST_RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
let server: ConnectionsServer;

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  });
  server = await startConnectionsServer({ stage: 'dev' });
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  server.reset();
});

describe('the local @connections server, seen by the SDK', () => {
  let sdk: ApiGatewayManagementApiClient;

  beforeAll(() => {
    sdk = new ApiGatewayManagementApiClient({
      endpoint: server.callbackUrl,
      region: REGION,
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
  });

  afterAll(() => sdk.destroy());

  const post = (connectionId: string, text = 'hi') =>
    sdk.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(text) }),
    );

  it('receives a post under the stage path, with the id decoded and the payload intact, and signed', async () => {
    await post('Abc123+/=', '{"type":"message"}');

    expect(server.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/dev/@connections/${encodeURIComponent('Abc123+/=')}`,
        connectionId: 'Abc123+/=',
        status: 200,
        authorization: expect.stringMatching(/^AWS4-HMAC-SHA256 /),
      }),
    ]);
    expect(server.delivered('Abc123+/=')).toEqual(['{"type":"message"}']);
  });

  it('also accepts posts without a stage prefix', async () => {
    const bare = new ApiGatewayManagementApiClient({
      endpoint: server.url,
      region: REGION,
      credentials: CREDENTIALS,
    });
    try {
      await bare.send(
        new PostToConnectionCommand({ ConnectionId: 'c1=', Data: new TextEncoder().encode('x') }),
      );
    } finally {
      bare.destroy();
    }

    expect(server.requests[0]?.path).toBe('/@connections/c1%3D');
  });

  it('makes the SDK throw GoneException with status 410 for a 410', async () => {
    server.script('stale=', 410);

    const error = await post('stale=').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GoneException);
    expect(error).toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
  });

  it('makes the SDK throw LimitExceededException with status 429 for a 429', async () => {
    server.script('busy=', 429);

    const error = await post('busy=').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LimitExceededException);
    expect(error).toMatchObject({ $metadata: { httpStatusCode: 429 } });
  });

  it('makes the SDK throw ForbiddenException for a 403', async () => {
    server.script('nope=', 403);

    await expect(post('nope=')).rejects.toBeInstanceOf(ForbiddenException);
  });

  it('makes the SDK throw a service error with status 500 for a 500', async () => {
    server.script('broken=', 500);

    await expect(post('broken=')).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
  });

  it('answers a scripted sequence in order and then repeats the last answer', async () => {
    server.script('flaky=', 500, 200);

    await expect(post('flaky=')).rejects.toBeDefined();
    await post('flaky=');
    await post('flaky=');

    expect(server.requests.map((r) => r.status)).toEqual([500, 200, 200]);
  });

  it('adds the latency it is given', async () => {
    server.setLatency(60, 'slow=');
    const started = Date.now();

    await post('slow=');

    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });
});

interface NotifierUnderTest {
  notifier: ConnectionNotifier;
  close(): Promise<void>;
}

/** Both ways the fanout can post: they must answer the same in every case below. */
const NOTIFIERS: [string, (options: { sockets: number; requestTimeoutMs?: number }) => NotifierUnderTest][] =
  [
    [
      'ApiGatewayNotifier (the SDK command stack)',
      ({ sockets, requestTimeoutMs }) => {
        const client = managementApiClient(server.callbackUrl, sockets, { requestTimeoutMs });
        return {
          notifier: new ApiGatewayNotifier(client, FAST_RETRY),
          close: async () => client.destroy(),
        };
      },
    ],
    [
      'SignedConnectionsNotifier (own SigV4 on undici)',
      ({ sockets, requestTimeoutMs }) => {
        const notifier = new SignedConnectionsNotifier({
          endpoint: server.callbackUrl,
          region: REGION,
          credentials: async () => CREDENTIALS,
          connections: sockets,
          retry: FAST_RETRY,
          ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
        });
        return { notifier, close: () => notifier.close() };
      },
    ],
  ];

describe.each(NOTIFIERS)('%s', (_name, create) => {
  let subject: NotifierUnderTest;
  let notifier: ConnectionNotifier;

  beforeEach(() => {
    subject = create({ sockets: 4 });
    notifier = subject.notifier;
  });

  afterEach(() => subject.close());

  it('delivers the payload as one frame, signed, to the stage path with the id escaped', async () => {
    await expect(notifier.send('Abc123+/=', '{"type":"message","message":"Hei"}')).resolves.toBe('delivered');

    expect(server.delivered('Abc123+/=')).toEqual(['{"type":"message","message":"Hei"}']);
    expect(server.requests[0]).toMatchObject({
      path: `/dev/@connections/${encodeURIComponent('Abc123+/=')}`,
      authorization: expect.stringMatching(
        /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-date/,
      ),
    });
  });

  it('delivers non-ASCII text byte for byte', async () => {
    await notifier.send('c1=', 'Hyvää yötä 🌙');

    expect(server.delivered('c1=')).toEqual(['Hyvää yötä 🌙']);
  });

  it('reports a 410 as gone after a single attempt', async () => {
    server.script('stale=', 410);

    await expect(notifier.send('stale=', 'x')).resolves.toBe('gone');
    expect(server.attempts('stale=')).toBe(1);
  });

  it('retries a 429 and delivers', async () => {
    server.script('busy=', 429, 200);

    await expect(notifier.send('busy=', 'x')).resolves.toBe('delivered');
    expect(server.attempts('busy=')).toBe(2);
  });

  it('retries 5xx answers and delivers', async () => {
    server.script('flaky=', 500, 503, 200);

    await expect(notifier.send('flaky=', 'x')).resolves.toBe('delivered');
    expect(server.attempts('flaky=')).toBe(3);
  });

  it('retries a connection reset (no HTTP status) and delivers', async () => {
    server.script('reset=', 'reset', 200);

    await expect(notifier.send('reset=', 'x')).resolves.toBe('delivered');
    expect(server.attempts('reset=')).toBe(2);
  });

  it('gives up after the attempt cap and throws the last error, with its status', async () => {
    server.script('down=', 500);

    await expect(notifier.send('down=', 'x')).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect(server.attempts('down=')).toBe(FAST_RETRY.attempts);
  });

  it('does not retry another 4xx, and names it as the SDK does', async () => {
    server.script('nope=', 403);

    await expect(notifier.send('nope=', 'x')).rejects.toMatchObject({
      name: 'ForbiddenException',
      $metadata: { httpStatusCode: 403 },
    });
    expect(server.attempts('nope=')).toBe(1);
  });

  it('starts no retry after the deadline', async () => {
    server.script('down=', 500);

    await expect(notifier.send('down=', 'x', { deadline: Date.now() })).rejects.toMatchObject({
      $metadata: { httpStatusCode: 500 },
    });
    expect(server.attempts('down=')).toBe(1);
  });

  it('fails a post that is not answered within the request timeout, retrying it', async () => {
    await subject.close();
    subject = create({ sockets: 4, requestTimeoutMs: 150 });
    // Answered only after every attempt has timed out (undici's timers tick at about 1 s).
    server.setLatency(5000, 'hung=');
    const started = Date.now();

    const error = await subject.notifier.send('hung=', 'x').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(() => server.attempts('hung=') === FAST_RETRY.attempts, {
      description: 'every attempt to reach the server',
      timeoutMs: 10_000,
    });
  });

  it('reuses keep-alive sockets, never opening more than its maximum', async () => {
    server.setLatency(5);

    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => notifier.send(`c${i}=`, 'x')));
    }

    expect(server.requests).toHaveLength(40);
    expect(server.socketsOpened).toBeLessThanOrEqual(4);
    expect(server.maxInFlight).toBeLessThanOrEqual(4);
  });
});
