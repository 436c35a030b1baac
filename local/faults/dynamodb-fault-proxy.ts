/**
 * A pass-through HTTP proxy in front of DynamoDB (Local) that answers a share of the
 * functions' requests with the errors DynamoDB itself sends on a bad day, in its JSON error
 * shape: 400 ThrottlingException (or ProvisionedThroughputExceededException) and 500
 * InternalServerError. The SDK retries them as it would in AWS; what still fails reaches
 * the handlers. The stack points the functions' AWS_ENDPOINT_URL_DYNAMODB at it only when
 * the `dynamodb` fault switches are given at start (see local/faults/faults.ts), so it is out of
 * the path by default. A failed request is never forwarded: nothing of it is written.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { type FaultSwitches, faultFires } from './faults';
import { readBody, startProxyServer, upstreamAgent } from './proxy-server';

const ERRORS: Record<number, { type: string; message: string }> = {
  400: { type: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' },
  500: { type: 'InternalServerError', message: 'Internal server error' },
};

/** The messages DynamoDB documents for these cancellation reason codes. */
const CANCELLATION_MESSAGES: Record<string, string> = {
  TransactionConflict: 'Transaction is ongoing for the item.',
  ThrottlingError:
    'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your ' +
    'table or index so please try again shortly. If exceptions persist, check if you have a hot key: ' +
    'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html.',
};

/**
 * DynamoDB's answer to a cancelled TransactWriteItems: the reasons in the order of the
 * request's items (`None`, with no message, for the items that were fine), and the summary
 * message DynamoDB derives from them.
 */
export function transactionCanceledBody(items: number, cancelled: number, code: string): string {
  const reasons = Array.from({ length: items }, (_, i) =>
    i === cancelled ? { Code: code, Message: CANCELLATION_MESSAGES[code] ?? code } : { Code: 'None' },
  );
  return JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    CancellationReasons: reasons,
    Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
  });
}

export interface DynamoDbFaultProxy {
  /** The proxy's endpoint (http://127.0.0.1:<port>). */
  endpoint: string;
  /** Requests answered with an error so far (cancelled transactions included), by operation (e.g. TransactWriteItems). */
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
  const agent = upstreamAgent();
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

  const cancel = (res: ServerResponse, body: string) => {
    let items = 0;
    try {
      const request = JSON.parse(body) as { TransactItems?: unknown[] };
      items = Array.isArray(request.TransactItems) ? request.TransactItems.length : 0;
    } catch {
      items = 0;
    }
    const cancelled = Math.min(items - 1, Math.floor(faults.random() * items));
    failures.TransactWriteItems = (failures.TransactWriteItems ?? 0) + 1;
    const text = transactionCanceledBody(items, cancelled, faults.dynamodb.cancellationCode);
    res.writeHead(400, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': `fault-${Date.now().toString(36)}`,
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const proxy = await startProxyServer(
    (req, res) => {
      const operation = operationOf(req);
      const { operations } = faults.dynamodb;
      const eligible = operations.length === 0 || operations.includes(operation);
      if (eligible && faultFires(faults, faults.dynamodb.failRate)) {
        // Read (and drop) the request first, so the client sees a normal response.
        req.resume();
        req.on('end', () => fail(res, operation));
        return;
      }
      if (operation === 'TransactWriteItems' && faultFires(faults, faults.dynamodb.transactionConflictRate)) {
        void readBody(req).then((body) => cancel(res, body.toString('utf8')));
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
    },
    agent,
    host,
  );
  return { endpoint: proxy.endpoint, failures, stop: proxy.stop };
}
