/**
 * The ways a post to @connections can be made, measured one after another in this one process
 * (its own, so its CPU time is theirs): the same posts, the same concurrency, against the
 * benchmarks' @connections server. Reports CPU time per post for each (IPC: the parent sends
 * {callbackUrl, posts, concurrency} and gets {rows}).
 */
import { Agent, request } from 'node:http';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SignatureV4 } from '@smithy/signature-v4';
import { Pool } from 'undici';
import { SignedConnectionsNotifier } from '../../functions/shared/adapters/signed-connections-notifier';
import { escapeUri, SigV4Signer } from '../../functions/shared/adapters/sigv4-signer';
import { forEachConcurrently } from '../../functions/shared/runtime/concurrency';
import { Sha256 } from '../../tests/support/smithy-sha256';

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REGION = 'us-east-1';

interface Input {
  callbackUrl: string;
  posts: number;
  concurrency: number;
}

async function measure(input: Input) {
  const url = new URL(input.callbackUrl);
  const payload = JSON.stringify({
    type: 'message',
    roomId: 'bench',
    seq: 7,
    from: 'Mikki',
    fromId: 'f-mikki',
    message: 'Hei kaikki!',
    id: '6b1c2e3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
    at: new Date().toISOString(),
  });
  const body = Buffer.from(payload);
  const pathOf = (id: string) => `${url.pathname}/@connections/${escapeUri(id)}`;
  const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency });
  const viaHttp = (path: string, headers: Record<string, string>) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, method: 'POST', path, headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const sdk = new ApiGatewayManagementApiClient({
    endpoint: input.callbackUrl,
    region: REGION,
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: input.concurrency }) },
  });
  const smithy = new SignatureV4({
    credentials: CREDENTIALS,
    region: REGION,
    service: 'execute-api',
    sha256: Sha256,
  });
  const own = new SigV4Signer({
    host: url.host,
    region: REGION,
    service: 'execute-api',
    credentials: async () => CREDENTIALS,
  });
  const pool = new Pool(url.origin, { connections: input.concurrency });
  const notifier = new SignedConnectionsNotifier({
    endpoint: input.callbackUrl,
    region: REGION,
    credentials: async () => CREDENTIALS,
    connections: input.concurrency,
  });
  const encoder = new TextEncoder();
  const paths: [string, (id: string) => Promise<unknown>][] = [
    [
      'SDK command (PostToConnectionCommand)',
      (id) => sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: encoder.encode(payload) })),
    ],
    [
      '@smithy/signature-v4 + node:http keep-alive',
      async (id) => {
        const path = pathOf(id);
        const signed = await smithy.sign({
          method: 'POST',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path,
          query: {},
          headers: { host: url.host, 'content-length': String(body.length) },
          body,
        });
        await viaHttp(path, signed.headers);
      },
    ],
    [
      'own SigV4 (kept key and hash) + node:http keep-alive',
      async (id) => {
        const path = pathOf(id);
        const signed = await own.sign('POST', path, body);
        await viaHttp(path, { host: url.host, ...signed, 'content-length': String(body.length) });
      },
    ],
    [
      'own SigV4 + undici Pool.request',
      async (id) => {
        const path = pathOf(id);
        const signed = await own.sign('POST', path, body);
        const res = await pool.request({
          method: 'POST',
          path,
          headers: { host: url.host, ...signed },
          body,
        });
        await res.body.dump();
      },
    ],
    ['own SigV4 + undici dispatch (SignedConnectionsNotifier)', (id) => notifier.send(id, payload)],
  ];
  const rows: { path: string; cpuMsPerPost: number; postsPerSecond: number }[] = [];
  try {
    // Twice each, in turn: the first round warms every path (JIT, sockets); the second is measured.
    for (const round of [0, 1]) {
      for (const [name, post] of paths) {
        const ids = Array.from({ length: round === 0 ? 500 : input.posts }, (_, i) => `post${i}AbC=`);
        const cpu = process.cpuUsage();
        const started = performance.now();
        await forEachConcurrently(ids, input.concurrency, async (id) => {
          await post(id);
        });
        const used = process.cpuUsage(cpu);
        const wallMs = performance.now() - started;
        if (round === 1) {
          rows.push({
            path: name,
            cpuMsPerPost: Number(((used.user + used.system) / 1000 / ids.length).toFixed(3)),
            postsPerSecond: Math.round((ids.length / wallMs) * 1000),
          });
        }
      }
    }
    return rows;
  } finally {
    sdk.destroy();
    agent.destroy();
    await pool.close();
    await notifier.close();
  }
}

process.once('message', (input: Input) => {
  void measure(input).then(
    (rows) => process.send?.({ rows }),
    (error: unknown) => process.send?.({ error: String(error) }),
  );
});
