/**
 * Runs the @connections test server in its own process for the benchmarks, so the server's
 * CPU does not compete with the fanout's (API Gateway is remote in production).
 * Protocol over IPC: it sends {port, callbackUrl}, then answers 'stats' with {posts, units,
 * maxInFlight, cpuMs} (posts answered 200, the API Gateway messages they are billed as: one per
 * 32 KB, and its own CPU time), 'reset' with 'ok'.
 */
import { startConnectionsServer } from '../../tests/support/connections-server';

const latencyMs = Number(process.argv[2] ?? '20');
/** API Gateway meters WebSocket messages in 32 KB increments. */
const UNIT = 32 * 1024;

void startConnectionsServer({ latencyMs }).then((server) => {
  // Bounded memory: the benchmark only needs counts, so records are dropped as they come.
  const send = (message: unknown) => process.send?.(message);
  let posts = 0;
  let units = 0;
  const count = () => {
    for (const r of server.requests) {
      if (r.method !== 'POST' || r.status !== 200) continue;
      posts += 1;
      units += Math.max(1, Math.ceil(Buffer.byteLength(r.body) / UNIT));
    }
    server.requests.length = 0;
  };
  setInterval(count, 50).unref();
  process.on('message', (message) => {
    if (message === 'stats') {
      count();
      const { user, system } = process.cpuUsage();
      send({ posts, units, maxInFlight: server.maxInFlight, cpuMs: (user + system) / 1000 });
    } else if (message === 'reset') {
      server.requests.length = 0;
      posts = 0;
      units = 0;
      send('ok');
    } else if (message === 'stop') {
      void server.stop().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ port: new URL(server.url).port, callbackUrl: server.callbackUrl });
});
