/**
 * The benchmarks' @connections server, in its own process so that its CPU does not compete
 * with the fanout's (API Gateway is remote in production). It answers every
 * `POST [/<stage>]/@connections/<id>` with 200 after a fixed latency, anything else with 404,
 * and only counts: the fanout's side of the exchange is what is measured, so the stand-in for
 * API Gateway spends as little CPU on this machine as it can (tests/support/connections-server.ts
 * is the test suites' fuller one, with scripted answers and a record of every request).
 * Protocol over IPC: it sends {callbackUrl}, then answers 'stats' with {posts, units,
 * maxInFlight, cpuMs} (posts answered 200, the API Gateway messages they are billed as: one per
 * 32 KB, and its own CPU time), 'reset' with 'ok'.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const latencyMs = Number(process.argv[2] ?? '20');
const STAGE = 'dev';
/** API Gateway meters WebSocket messages in 32 KB increments. */
const UNIT = 32 * 1024;
const POST_PATH = /^(?:\/[^/]+)?\/@connections\/[^/]+$/;

let posts = 0;
let units = 0;
let inFlight = 0;
let maxInFlight = 0;

const server = createServer((req, res) => {
  inFlight += 1;
  maxInFlight = Math.max(maxInFlight, inFlight);
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    setTimeout(() => {
      inFlight -= 1;
      if (req.method !== 'POST' || !POST_PATH.test(req.url ?? '')) {
        res.writeHead(404, { 'content-length': '0', 'x-amzn-errortype': 'NotFoundException' });
        res.end();
        return;
      }
      posts += 1;
      units += Math.max(1, Math.ceil(bytes / UNIT));
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    }, latencyMs);
  });
});
server.keepAliveTimeout = 60_000;

const send = (message: unknown) => process.send?.(message);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  send({ callbackUrl: `http://127.0.0.1:${port}/${STAGE}` });
});
process.on('message', (message) => {
  if (message === 'stats') {
    const { user, system } = process.cpuUsage();
    send({ posts, units, maxInFlight, cpuMs: (user + system) / 1000 });
  } else if (message === 'reset') {
    posts = 0;
    units = 0;
    maxInFlight = 0;
    send('ok');
  } else if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
