/**
 * `npm run sam:services`: the backends `sam local invoke` talks to with events/env.json —
 * DynamoDB Local on port 8000, the SQS emulator on port 9324 and an @connections endpoint on port
 * 3001 — with template.yaml's table and queues created in them under the names `npm start` gives
 * them (stack name `local`). Ctrl-C stops.
 *
 * The @connections endpoint is the local gateway's (local/gateway/connections-api.ts: signed requests
 * only, 410 GoneException for a connection that is not open, the 128 KB limit) in front of no
 * sockets: it records the frames posted to the connections marked open (every id, for
 * `npm run sam:services`), so a check can see what history and the fanout sent.
 *
 * Lambda containers reach this machine at `host.docker.internal`, which is not 127.0.0.1: DynamoDB
 * Local listens on every interface, and the SQS emulator (which listens on 127.0.0.1 only) is put
 * behind a TCP relay that does. The same launchers and provisioning as `npm start`
 * (local/services/, local/template/provision.ts) do the work; nothing here speaks DynamoDB or SQS.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createFaults } from '../../local/faults/faults';
import {
  connectionsPathId,
  handleConnectionsRequest,
  type ManagedConnection,
} from '../../local/gateway/connections-api';
import { startDynamoDbLocal } from '../../local/services/dynamodb-local';
import { startSqsLocal } from '../../local/services/sqs-local';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalResources } from '../../local/template/local-resources';
import { provisionQueues, provisionTables } from '../../local/template/provision';
import { loadTemplateModel } from '../../local/template/template-model';

/** The stack name `npm start` uses, so its table and queue names are the ones events/env.json holds. */
export const SAM_LOCAL_STACK_NAME = 'local';
export const DYNAMODB_PORT = 8000;
export const SQS_PORT = 9324;
/** events/env.json's CONNECTIONS_URL: http://host.docker.internal:3001/dev */
export const CONNECTIONS_PORT = 3001;
export const CONNECTIONS_STAGE = 'dev';

/** What the @connections endpoint knows: which connections are open, and what was posted to them. */
export interface RecordedConnections {
  /** Connection ids that answer 200; any other answers 410. `'*'` opens every id. */
  open: Set<string>;
  /** Frames posted, per connection id, in order. */
  posted: Map<string, string[]>;
  /** Called with each frame as it is recorded. */
  onPost?: (connectionId: string, frame: string) => void;
}

export interface SamLocalServices {
  /** Endpoints on this machine (the containers use host.docker.internal with the same ports). */
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  /** Logical id → table name, and logical id → queue, as created from template.yaml. */
  tables: Record<string, string>;
  queues: LocalResources['queues'];
  dynamoDb: DynamoDBClient;
  sqs: SQSClient;
  connections: RecordedConnections;
  stop(): Promise<void>;
}

export interface SamLocalServicesOptions {
  dynamoDbPort?: number;
  sqsPort?: number;
  connectionsPort?: number;
  log?: (line: string) => void;
}

/** Listens on every interface at `port` and relays each connection to 127.0.0.1:`target`. */
async function startRelay(port: number, target: number): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  server.on('close', () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`Cannot listen on port ${port} for the SQS emulator: ${(error as Error).message}`)),
    );
    server.listen(port, '0.0.0.0', resolve);
  });
  return server;
}

/** The @connections API on every interface, recording instead of sending. */
async function startConnectionsEndpoint(port: number, connections: RecordedConnections): Promise<HttpServer> {
  const faults = createFaults();
  const recorder = (connectionId: string): ManagedConnection | undefined => {
    if (!connections.open.has('*') && !connections.open.has(connectionId)) return undefined;
    const now = Date.now();
    return {
      connectedAt: now,
      lastActiveAt: now,
      sourceIp: '127.0.0.1',
      send(data) {
        const frames = connections.posted.get(connectionId) ?? [];
        frames.push(data.toString('utf8'));
        connections.posted.set(connectionId, frames);
        connections.onPost?.(connectionId, data.toString('utf8'));
      },
      close() {
        connections.open.delete(connectionId);
      },
    };
  };
  const server = createHttpServer((req, res) => {
    const id = connectionsPathId(new URL(req.url ?? '/', 'http://x').pathname, CONNECTIONS_STAGE);
    if (id === undefined) {
      res.writeHead(404).end();
      return;
    }
    handleConnectionsRequest(req, res, id, recorder, faults).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`Cannot listen on port ${port} for @connections: ${(error as Error).message}`)),
    );
    server.listen(port, '0.0.0.0', resolve);
  });
  return server;
}

export async function startSamLocalServices(
  options: SamLocalServicesOptions = {},
): Promise<SamLocalServices> {
  const log = options.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => {});
  };
  try {
    const dynamoDbPort = options.dynamoDbPort ?? DYNAMODB_PORT;
    const ddbLocal = await startDynamoDbLocal({ port: dynamoDbPort, log });
    stops.push(ddbLocal.stop);
    const sqsLocal = await startSqsLocal();
    stops.push(sqsLocal.stop);
    const relay = await startRelay(options.sqsPort ?? SQS_PORT, sqsLocal.port);
    stops.push(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    const connections: RecordedConnections = { open: new Set(), posted: new Map() };
    const endpoint = await startConnectionsEndpoint(options.connectionsPort ?? CONNECTIONS_PORT, connections);
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          endpoint.closeAllConnections();
          endpoint.close(() => resolve());
        }),
    );

    const dynamoDbEndpoint = `http://127.0.0.1:${dynamoDbPort}`;
    const sqsEndpoint = `http://127.0.0.1:${options.sqsPort ?? SQS_PORT}`;
    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamoDb = new DynamoDBClient({ ...clientConfig, endpoint: dynamoDbEndpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsEndpoint });
    stops.push(async () => {
      dynamoDb.destroy();
      sqs.destroy();
    });
    // Parameters only matter for the functions' environment, which this does not resolve.
    const model = loadTemplateModel(undefined, { ChatAuthToken: 'x'.repeat(16) });
    const tables = await provisionTables(dynamoDb, model, SAM_LOCAL_STACK_NAME);
    const queues = await provisionQueues(sqs, model, SAM_LOCAL_STACK_NAME);
    return { dynamoDbEndpoint, sqsEndpoint, tables, queues, dynamoDb, sqs, connections, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(): Promise<void> {
  const services = await startSamLocalServices();
  services.connections.open.add('*');
  services.connections.onPost = (id, frame) => process.stdout.write(`@connections ${id} <- ${frame}\n`);
  const lines = [
    'Backends for `sam local invoke -n events/env.json` are ready:',
    `  DynamoDB Local  ${services.dynamoDbEndpoint}   table ${Object.values(services.tables).join(', ')}`,
    `  SQS emulator    ${services.sqsEndpoint}   queues ${Object.values(services.queues)
      .map((q) => q.name)
      .join(', ')}`,
    `  @connections    http://127.0.0.1:${CONNECTIONS_PORT}/${CONNECTIONS_STAGE}   (records posts; every connection open)`,
    'Containers reach them as http://host.docker.internal:<port> (sam local invoke --add-host host.docker.internal:host-gateway).',
    'Ctrl-C stops them.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const shutdown = () => {
    services.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`sam:services failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
