/**
 * A pass-through HTTP proxy in front of SQS (the local emulator) that answers a share of the
 * functions' requests as SQS does on a bad day, in its JSON protocol: refused, ambiguous
 * (forwarded and accepted, then answered with an error), hung, or with failed SendMessageBatch
 * entries. The `sqs` switches in faults.ts; local/README.md, "Fault switches". The stack puts it
 * in the functions' path only when those switches are given at start; the event source talks
 * to SQS directly.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { type SqsReply, sqsJsonError } from '../services/sqs-strict';
import { type FaultSwitches, faultFires } from './faults';
import { readBody, startProxyServer, upstreamAgent } from './proxy-server';

const INTERNAL_ERROR = 'We encountered an internal error. Please try again.';

/** SQS's JSON-protocol answer for a refused or ambiguous request. */
function serverError(status: number): SqsReply {
  return status === 503
    ? sqsJsonError(
        503,
        'ServiceUnavailable',
        'The request has failed due to a temporary failure of the server.',
      )
    : sqsJsonError(status, 'InternalError', INTERNAL_ERROR);
}

export interface SqsFaultProxy {
  /** The proxy's endpoint (http://127.0.0.1:<port>). */
  endpoint: string;
  /** What the switches did so far, by kind and operation (e.g. `ambiguous.SendMessageBatch`). */
  faulted: {
    refused: Record<string, number>;
    ambiguous: Record<string, number>;
    hung: Record<string, number>;
    /** SendMessageBatch entries answered as Failed. */
    failedEntries: number;
  };
  stop(): Promise<void>;
}

/** The operation of an SQS JSON request (`X-Amz-Target: AmazonSQS.SendMessage`). */
function operationOf(req: IncomingMessage): string {
  const target = String(req.headers['x-amz-target'] ?? '');
  return target.slice(target.indexOf('.') + 1);
}

function send(res: ServerResponse, reply: SqsReply): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

export async function startSqsFaultProxy(
  upstream: string,
  faults: FaultSwitches,
  host = '127.0.0.1',
): Promise<SqsFaultProxy> {
  const target = new URL(upstream);
  const agent = upstreamAgent();
  const faulted: SqsFaultProxy['faulted'] = { refused: {}, ambiguous: {}, hung: {}, failedEntries: 0 };
  const count = (kind: Record<string, number>, operation: string) => {
    kind[operation] = (kind[operation] ?? 0) + 1;
  };

  /** Sends the request on to SQS and resolves with its whole answer. */
  const forward = (req: IncomingMessage, body: Buffer): Promise<SqsReply> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const upstreamReq = http.request(
        { agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (upstreamRes) => {
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
          upstreamRes.on('end', () => {
            const replyHeaders: Record<string, string> = {};
            for (const [name, value] of Object.entries(upstreamRes.headers)) {
              if (value !== undefined && name !== 'content-length' && name !== 'connection') {
                replyHeaders[name] = String(value);
              }
            }
            resolve({
              status: upstreamRes.statusCode ?? 502,
              headers: replyHeaders,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          upstreamRes.on('error', reject);
        },
      );
      upstreamReq.on('error', reject);
      upstreamReq.end(body);
    });

  /** SendMessageBatch with some entries failed here (in `Failed`) and the rest sent. */
  const failSomeEntries = async (req: IncomingMessage, body: Buffer): Promise<SqsReply> => {
    let request: { Entries?: { Id?: unknown }[] } & Record<string, unknown>;
    try {
      request = JSON.parse(body.toString('utf8')) as typeof request;
    } catch {
      return forward(req, body);
    }
    const entries = Array.isArray(request.Entries) ? request.Entries : [];
    const failed = entries.filter(() => faultFires(faults, faults.sqs.entryFailRate));
    if (failed.length === 0) return forward(req, body);
    faulted.failedEntries += failed.length;
    const rest = entries.filter((e) => !failed.includes(e));
    const ownFailed = failed.map((e) => ({
      Id: e.Id,
      SenderFault: false,
      Code: 'InternalError',
      Message: INTERNAL_ERROR,
    }));
    if (rest.length === 0) {
      return {
        status: 200,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': `fault-${Date.now().toString(36)}`,
        },
        body: JSON.stringify({ Successful: [], Failed: ownFailed }),
      };
    }
    const reply = await forward(req, Buffer.from(JSON.stringify({ ...request, Entries: rest }), 'utf8'));
    if (reply.status !== 200) return reply;
    const result = JSON.parse(reply.body || '{}') as { Successful?: unknown[]; Failed?: unknown[] };
    return {
      ...reply,
      body: JSON.stringify({
        Successful: result.Successful ?? [],
        Failed: [...(result.Failed ?? []), ...ownFailed],
      }),
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const operation = operationOf(req);
    const { operations } = faults.sqs;
    const eligible = operations.length === 0 || operations.includes(operation);
    if (eligible && faultFires(faults, faults.sqs.failRate)) {
      count(faulted.refused, operation);
      send(res, serverError(faults.sqs.failStatus));
      return;
    }
    if (eligible && faultFires(faults, faults.sqs.hangRate)) {
      count(faulted.hung, operation);
      await forward(req, body); // accepted by SQS; the answer never reaches the caller
      return;
    }
    if (eligible && faultFires(faults, faults.sqs.ambiguousRate)) {
      count(faulted.ambiguous, operation);
      await forward(req, body);
      send(res, serverError(faults.sqs.failStatus));
      return;
    }
    if (eligible && operation === 'SendMessageBatch' && faults.sqs.entryFailRate > 0) {
      send(res, await failSomeEntries(req, body));
      return;
    }
    send(res, await forward(req, body));
  };

  const proxy = await startProxyServer(
    (req, res) => {
      handle(req, res).catch(() => send(res, { status: 502, headers: {}, body: '' }));
    },
    agent,
    host,
  );
  // stop() drops hung requests' sockets too.
  return { endpoint: proxy.endpoint, faulted, stop: proxy.stop };
}
