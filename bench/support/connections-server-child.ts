/**
 * Runs the @connections test server in its own process for the fanout benchmark, so the
 * server's CPU does not compete with the fanout's (API Gateway is remote in production).
 * Protocol over IPC: it sends {port}, then answers 'stats' with {posts} and 'reset' with 'ok'.
 */
import { startConnectionsServer } from '../../tests/support/connections-server';

const latencyMs = Number(process.argv[2] ?? '20');

void startConnectionsServer({ latencyMs }).then((server) => {
  // Bounded memory: the benchmark only needs counts, so records are dropped as they come.
  const send = (message: unknown) => process.send?.(message);
  let posts = 0;
  setInterval(() => {
    posts += server.requests.filter((r) => r.method === 'POST' && r.status === 200).length;
    server.requests.length = 0;
  }, 50).unref();
  process.on('message', (message) => {
    if (message === 'stats') {
      posts += server.requests.filter((r) => r.method === 'POST' && r.status === 200).length;
      server.requests.length = 0;
      send({ posts, maxInFlight: server.maxInFlight });
    } else if (message === 'reset') {
      server.requests.length = 0;
      posts = 0;
      send('ok');
    } else if (message === 'stop') {
      void server.stop().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ port: new URL(server.url).port, callbackUrl: server.callbackUrl });
});
