/**
 * `npm run sam:services`: the backends `sam local invoke` talks to with events/env.json —
 * DynamoDB Local on port 8000 and the SQS emulator on port 9324 — with template.yaml's table and
 * queues created in them under the names `npm start` gives them (stack name `local`). Ctrl-C stops.
 *
 * Lambda containers reach this machine at `host.docker.internal`, which is not 127.0.0.1: DynamoDB
 * Local listens on every interface, and the SQS emulator (which listens on 127.0.0.1 only) is put
 * behind a TCP relay that does. The same launchers and provisioning as `npm start`
 * (local/services/, local/provision.ts) do the work; nothing here speaks DynamoDB or SQS.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/local-resources';
import { type LocalQueues, provisionQueues, provisionTables } from '../../local/provision';
import { startDynamoDbLocal } from '../../local/services/dynamodb-local';
import { startSqsLocal } from '../../local/services/sqs-local';
import { loadTemplateModel } from '../../local/template-model';

/** The stack name `npm start` uses, so its table and queue names are the ones events/env.json holds. */
export const SAM_LOCAL_STACK_NAME = 'local';
export const DYNAMODB_PORT = 8000;
export const SQS_PORT = 9324;

export interface SamLocalServices {
  /** Endpoints on this machine (the containers use host.docker.internal with the same ports). */
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  /** Logical id → table name, and logical id → queue, as created from template.yaml. */
  tables: Record<string, string>;
  queues: LocalQueues;
  dynamoDb: DynamoDBClient;
  sqs: SQSClient;
  stop(): Promise<void>;
}

export interface SamLocalServicesOptions {
  dynamoDbPort?: number;
  sqsPort?: number;
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
    return { dynamoDbEndpoint, sqsEndpoint, tables, queues, dynamoDb, sqs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(): Promise<void> {
  const services = await startSamLocalServices();
  const lines = [
    'Backends for `sam local invoke -n events/env.json` are ready:',
    `  DynamoDB Local  ${services.dynamoDbEndpoint}   table ${Object.values(services.tables).join(', ')}`,
    `  SQS emulator    ${services.sqsEndpoint}   queues ${Object.values(services.queues)
      .map((q) => q.name)
      .join(', ')}`,
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
