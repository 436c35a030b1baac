/**
 * jwt mode end to end (`npm start -- --auth jwt`): real `ws` clients on the local gateway, the
 * authorizer trusting the local OIDC issuer (oauth2-mock-server, keys made at start). A good
 * token connects and its user's sub and display name are recorded; each bad token is refused
 * with the status API Gateway would answer, writes nothing and reaches no log line; a new key
 * works without a restart; `npm run token` mints working tokens.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localSub } from '../../local/auth/issuer';
import { REPO_ROOT } from '../../local/repo-root';
import { ChatClient, handshakeStatus } from './support/chat-client';
import { connectionRecord } from './support/connection-record';
import { scanTable } from './support/table-invariants';
import { eventually, startTestStack, type TestStack } from './support/test-stack';

describe('sign-in with JWTs (jwt mode)', () => {
  let stack: TestStack;
  let dynamodb: DynamoDBClient;
  const open: ChatClient[] = [];
  const issuer = () => {
    if (!stack.chat.issuer) throw new Error('the stack has no local issuer');
    return stack.chat.issuer;
  };
  const connect = async (token: string, name: string) => {
    const client = await ChatClient.connect(stack.chat.wsUrl, token, name);
    open.push(client);
    return client;
  };
  const table = async () =>
    (await scanTable(dynamodb, stack.chat.tableName)).map((item) => JSON.stringify(item)).sort();
  /** The connection record `$connect` wrote for the newest connection of the gateway. */
  const newestRecord = async (before: string[]) => {
    const id = await eventually(
      () => stack.chat.connectionIds().find((c) => !before.includes(c)),
      'the new connection to be open',
    );
    return connectionRecord(dynamodb, stack.chat.tableName, id);
  };

  beforeAll(async () => {
    stack = await startTestStack({ auth: 'jwt', functionLogs: 'all' });
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

  it('runs the authorizer in jwt mode against the local issuer, with no shared token', () => {
    expect(stack.chat.authMode).toBe('jwt');
    expect(stack.chat.chatToken).toBe('');
    expect(issuer().url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("connects with a user's access token and records the user's sub and display name", async () => {
    const before = stack.chat.connectionIds();
    const mikki = await connect(await issuer().mint({ username: 'Mikki' }), 'mikki');

    expect(await newestRecord(before)).toEqual({
      role: 'user',
      principalId: localSub('Mikki'),
      displayName: 'Mikki',
    });
    expect(await mikki.enter('jwt-room', 'Mikki')).toMatchObject({ type: 'entered', nickname: 'Mikki' });
  });

  it('gives a member of chat-admins the admin role, which broadcast checks on the record', async () => {
    const before = stack.chat.connectionIds();
    const roope = await connect(await issuer().mint({ username: 'Roope', admin: true }), 'roope');

    expect(await newestRecord(before)).toMatchObject({ role: 'admin', principalId: localSub('Roope') });
    roope.send({ action: 'broadcast', message: 'Huoltokatko klo 18' });
    expect(
      await roope.waitFor((e) => e.type === 'broadcast' || e.type === 'error', 'the broadcast'),
    ).toMatchObject({
      type: 'broadcast',
      message: 'Huoltokatko klo 18',
    });
  });

  it('takes the identity from the token only: query parameters naming another user change nothing', async () => {
    const token = await issuer().mint({ username: 'Hessu' });
    const before = stack.chat.connectionIds();
    const forged = new URLSearchParams({ sub: localSub('Roope'), name: 'Roope', role: 'admin', Auth: token });

    const hessu = await ChatClient.connect(`${stack.chat.wsUrl}?${forged}`, undefined, 'hessu-forging');
    open.push(hessu);

    expect(await newestRecord(before)).toEqual({
      role: 'user',
      principalId: localSub('Hessu'),
      displayName: 'Hessu',
    });
  });

  it('lets one user hold several connections (tabs), each recorded with the same sub', async () => {
    const token = await issuer().mint({ username: 'Aku' });
    const before = stack.chat.connectionIds();

    await connect(token, 'aku-tab-1');
    await connect(token, 'aku-tab-2');

    const ids = await eventually(() => {
      const added = stack.chat.connectionIds().filter((c) => !before.includes(c));
      return added.length === 2 ? added : undefined;
    }, 'both tabs to be open');
    const records = await Promise.all(ids.map((id) => connectionRecord(dynamodb, stack.chat.tableName, id)));
    expect(records.map((r) => r?.principalId)).toEqual([localSub('Aku'), localSub('Aku')]);
  });

  describe('bad tokens', () => {
    const mintedBad: [string, () => Promise<string>][] = [
      ['an expired token', () => issuer().mint({ username: 'Hessu', expiresInSeconds: -60 })],
      [
        'an ID token where an access token is expected',
        () => issuer().mint({ username: 'Hessu', tokenUse: 'id' }),
      ],
      [
        'a tampered payload (sub of another user)',
        async () => {
          const [header, payload, signature] = (await issuer().mint({ username: 'Hessu' })).split('.');
          const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString('utf8'));
          const forged = Buffer.from(JSON.stringify({ ...claims, sub: localSub('Roope') })).toString(
            'base64url',
          );
          return `${header}.${forged}.${signature}`;
        },
      ],
      [
        'alg: none',
        async () => {
          const [, payload] = (await issuer().mint({ username: 'Hessu' })).split('.');
          return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
        },
      ],
      ['the shared token of token mode', async () => 'local-chat-token-change-me'],
      // Under API Gateway's 4,096-character URL limit the authorizer refuses it unparsed.
      [
        'a 10 KB token',
        async () => `${(await issuer().mint({ username: 'Hessu' })).slice(0, -10)}${'A'.repeat(10_000)}`,
      ],
    ];

    it.each(mintedBad)('refuses %s with 403, writes nothing and logs no token', async (_name, mint) => {
      const token = await mint();
      const before = await table();

      const refused = await handshakeStatus(`${stack.chat.wsUrl}?Auth=${encodeURIComponent(token)}`);

      expect(refused.status).toBe(403);
      expect(await table()).toEqual(before);
      expect(stack.logs.filter((line) => line.includes(token.slice(-40)))).toEqual([]);
    });

    it('refuses a 20 KB token before any function runs, and writes nothing', async () => {
      const token = (await issuer().mint({ username: 'Hessu' })) + 'A'.repeat(20 * 1024);
      const before = await table();
      const invocations = stack.invocations.length;

      const refused = await handshakeStatus(`${stack.chat.wsUrl}?Auth=${token}`).catch(() => ({ status: 0 }));

      expect(refused.status).not.toBe(101);
      expect(stack.invocations.length).toBe(invocations);
      expect(await table()).toEqual(before);
    });
  });

  it('accepts a token signed with a newly published key, without a restart (key rotation)', async () => {
    await issuer().rotateKey();
    const token = await issuer().mint({ username: 'Hessu' });

    const hessu = await connect(token, 'hessu');

    expect(hessu.open).toBe(true);
  });

  it('mints working tokens with npm run token (from the running stack file)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chat-token-'));
    const file = path.join(dir, 'stack.json');
    writeFileSync(
      file,
      JSON.stringify({
        pid: process.pid,
        auth: { mode: 'jwt', issuer: issuer().url, tokenUrl: issuer().tokenUrl, clientId: issuer().clientId },
      }),
    );
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
          'local/auth/token-cli.ts',
          '--user',
          'Minni',
          '--admin',
        ],
        { cwd: REPO_ROOT, env: { ...process.env, LOCAL_STACK_FILE: file } },
      );
      const before = stack.chat.connectionIds();

      await connect(stdout.trim(), 'minni');

      expect(await newestRecord(before)).toEqual({
        role: 'admin',
        principalId: localSub('Minni'),
        displayName: 'Minni',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('logged no token at all, in the gateway or the functions', async () => {
    const tokens = await Promise.all(
      ['Mikki', 'Roope', 'Aku', 'Hessu'].map((u) => issuer().mint({ username: u })),
    );
    // Every token of a user shares its header and most of its payload; none of it may appear.
    const payloads = tokens.map((t) => t.split('.')[1]?.slice(0, 60) ?? '');

    expect(stack.logs.filter((line) => payloads.some((p) => line.includes(p)))).toEqual([]);
    expect(stack.logs.filter((line) => /eyJ[\w-]{20,}\.[\w-]{20,}/.test(line))).toEqual([]);
  });
});
