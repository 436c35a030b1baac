/**
 * A pass-through HTTP proxy in front of DynamoDB (Local) that answers a share of the
 * functions' requests with the errors DynamoDB itself sends on a bad day, in its JSON error
 * shape: 400 ThrottlingException (or ProvisionedThroughputExceededException) and 500
 * InternalServerError. The SDK retries them as it would in AWS; what still fails reaches
 * the handlers. The stack points the functions' AWS_ENDPOINT_URL_DYNAMODB at it only when
 * the `dynamodb` fault switches are given at start (see local/faults.ts), so it is out of
 * the path by default. A failed request is never forwarded: nothing of it is written.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FaultSwitches, hits } from './faults';

const ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' },
  500: { type: 'InternalServerError', message: 'Internal server error' },
};

export interface DynamoDbFaultProxy {
  /** The proxy's endpoint (http://127.0.0.1:<port>). */
  endpoint: string;
  /** Requests answered with an error so far, by operation (e.g. TransactWriteItems). */
  failures: Record<string, number>;
  stop(): Promise<void>;
}

/** The operation of a DynamoDB JSON request (`X-Amz-Target: DynamoDB_20120810.PutItem`). */
function operationOf(req: IncomingMessage): string {
  const target = String(req.headers['x-amz-target'] ?? '');
  return target.slice(target.indexOf('.') + 1);
}

export async function startDynamoDbFaultProxy(
  upstream: string,
  faults: FaultSwitches,
  host = '127.0.0.1',
): Promise<DynamoDbFaultProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const failures: Record<string, number> = {};

  const fail = (res: ServerResponse, operation: string) => {
    const status = faults.dynamodb.failStatus;
    const error = ERRORS[status] ?? {
      type: status === 400 ? 'ThrottlingException' : 'InternalServerError',
      message: 'Injected fault',
    };
    const type =
      status === 400 && faults.dynamodb.throttleType === 'ProvisionedThroughputExceededException'
        ? 'ProvisionedThroughputExceededException'
        : error.type;
    failures[operation] = (failures[operation] ?? 0) + 1;
    const body = JSON.stringify({
      __type: `com.amazonaws.dynamodb.v20120810#${type}`,
      message: error.message,
    });
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': `fault-${Date.now().toString(36)}`,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    const operation = operationOf(req);
    const { operations } = faults.dynamodb;
    const eligible = operations.length === 0 || operations.includes(operation);
    if (eligible && hits(faults, faults.dynamodb.failRate)) {
      // Read (and drop) the request first, so the client sees a normal response.
      req.resume();
      req.on('end', () => fail(res, operation));
      return;
    }
    const forward = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    failures,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
