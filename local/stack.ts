/**
 * The whole chat on one machine: DynamoDB Local and the SQS emulator (or the backends named
 * by AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS), the table and queues created from
 * template.yaml, the functions built from their entry points and run in local sandboxes,
 * the WebSocket gateway with @connections and the web client on one port, and the SQS →
 * fanout event source. `stop()` takes it all down in reverse order and leaves no handles.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type LocalIssuer, startLocalIssuer } from './auth/issuer';
import { type DynamoDbFaultProxy, startDynamoDbFaultProxy } from './faults/dynamodb-fault-proxy';
import { createFaults, type FaultSettings, type FaultSwitches, faultFires } from './faults/faults';
import { type SqsFaultProxy, startSqsFaultProxy } from './faults/sqs-fault-proxy';
import { Gateway } from './gateway/gateway';
import { functionOutputLines, type LogSink, redactingSink } from './invocation-log';
import {
  type FunctionStats,
  type InvokeOptions,
  type InvokeOutcome,
  LocalFunctions,
} from './lambda/sandboxes';
import { SqsEventSource } from './lambda/sqs-event-source';
import { REPO_ROOT } from './repo-root';
import { startDynamoDbLocal } from './services/dynamodb-local';
import { startSqsLocal } from './services/sqs-local';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalQueue,
  type LocalResources,
  localApiId,
  localFunctionName,
  resolveFunctionEnv,
} from './template/local-resources';
import { provisionQueues, provisionTables } from './template/provision';
import { loadTemplateModel, TEMPLATE_FILE, type TemplateModel } from './template/template-model';

/** Local-only tokens (the same as events/env.json uses), printed by `npm start`. */
export const DEFAULT_CHAT_TOKEN = 'local-chat-token-change-me';
export const DEFAULT_ADMIN_TOKEN = 'local-admin-token-change-me';

export interface LocalChatOptions {
  /** 0 = a free port (tests); the CLI defaults to 3001 / PORT. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  chatToken?: string;
  adminToken?: string;
  /**
   * How users sign in (template.yaml's AuthMode): 'token' (default, chatToken/adminToken) or
   * 'jwt' (a local OIDC issuer is started on loopback and the authorizer trusts it).
   */
  auth?: 'token' | 'jwt';
  /** Port of the local issuer in jwt mode (default: a free one). */
  authIssuerPort?: number;
  /** Keep DynamoDB data between runs in this directory (--persist <dir>). */
  persistDir?: string;
  /** External backends (default: AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS, else our own). */
  dynamoDbEndpoint?: string;
  sqsEndpoint?: string;
  /** API Gateway's idle timeout; default 10 min. */
  idleTimeoutMs?: number;
  /** API Gateway's maximum connection duration; default 2 h. */
  maxConnectionMs?: number;
  /** Overrides the template's VisibilityTimeout of the queue that feeds the fanout. */
  visibilityTimeoutSeconds?: number;
  /** Extra environment for every function (overrides the template's values). */
  functionEnv?: Record<string, string>;
  /** Rebuild the functions when their sources change (CLI true, tests false). */
  watch?: boolean;
  /** One line per invocation; default stdout. */
  log?: (line: string) => void;

  /** Prefix of the local table, queue and function names; default 'local'. */
  stackName?: string;
  /** Which lines of the functions' own output reach the log; default 'errors' (warnings and errors). */
  functionLogs?: 'all' | 'errors' | 'none';
  /** Fault switches (all off by default); see local/faults/faults.ts. */
  faults?: FaultSettings;
  /**
   * Frames of one connection concurrently, as API Gateway handles them (default), or one at a
   * time, in order ('serial'; CLI --serial-frames).
   */
  frameOrdering?: 'serial' | 'concurrent';
  /**
   * Most sandboxes (concurrent invocations) of a function without ReservedConcurrentExecutions;
   * default 10. Invocations beyond it wait (Lambda would scale on). With the template's
   * ReservedConcurrentExecutions, invocations beyond that are throttled as in Lambda.
   */
  defaultConcurrency?: number;
  /** Shorter Timeouts than the template's, in seconds, by function (e.g. `{ FanoutFunction: 3 }`). */
  functionTimeouts?: Record<string, number>;
  /** Read this template instead of template.yaml (its CodeUri paths are relative to the repository). */
  templateFile?: string;
  /** Called after every invocation with the event the function got and what came of it. */
  onInvoke?: (functionId: string, event: unknown, outcome: InvokeOutcome) => void;
  /** Folder served at / (default web/dist). */
  webRoot?: string;
  /** Run web/build.ts's buildWeb(webRoot) before serving (default: same as `watch`). */
  buildWeb?: boolean;
  /**
   * How long stop() waits for connections to close ($disconnect included) and the event
   * source's batches to finish before it terminates what still runs; default 3000 ms.
   */
  stopGraceMs?: number;
}

export interface LocalChat {
  port: number;
  wsUrl: string;
  httpUrl: string;
  /** Token mode's shared tokens ('' in jwt mode). */
  chatToken: string;
  adminToken: string;
  authMode: 'token' | 'jwt';
  /** jwt mode: the local OIDC issuer (mint tokens, rotate keys). */
  issuer?: LocalIssuer;
  tableName: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  stop(): Promise<void>;

  stackName: string;
  /** Live fault switches: change them at any time. */
  faults: FaultSwitches;
  /** The DynamoDB fault proxy, when the `dynamodb` switches were given at start. */
  dynamoDbFaultProxy?: { endpoint: string; failures: Record<string, number> };
  /** The SQS fault proxy, when the `sqs` switches were given at start. */
  sqsFaultProxy?: { endpoint: string; faulted: SqsFaultProxy['faulted'] };
  /** The template as the local stack read it (routes, functions, queues, …). */
  model: TemplateModel;
  /** Local names, URLs and ARNs of the template's resources. */
  resources: LocalResources;
  /** Ids of the WebSocket connections open right now. */
  connectionIds(): string[];
  /** Function invocations started and not yet finished (any function). */
  invocationsInFlight(): number;
  /** What a function's sandboxes have done (peak concurrency, cold starts, throttles, sandboxes alive). */
  functionStats(logicalId: string): FunctionStats;
  /**
   * Ends idle sandboxes, all but the `keep` each function used last, as Lambda reclaims those
   * left unused (the local stack otherwise keeps them warm for good, up to each function's
   * concurrency).
   */
  reclaimIdleSandboxes(keep?: number): Promise<void>;
  /** How long startLocalChat took, in ms. */
  startupMs: number;
}

const quiet = () => undefined;

/** How long stop() lets connections close and batches finish before it cuts them short. */
const STOP_GRACE_MS = 3000;

function checkParameter(model: TemplateModel, name: string, value: string, what: string): void {
  const definition = model.template.Parameters?.[name];
  if (!definition) return;
  const min = Number(definition.MinLength ?? 0);
  if (value !== '' && value.length < min) {
    throw new Error(`${what} is too short: template.yaml's ${name} needs at least ${min} characters.`);
  }
  const pattern = definition.AllowedPattern;
  if (typeof pattern === 'string' && !new RegExp(pattern).test(value)) {
    const rule =
      typeof definition.ConstraintDescription === 'string' ? definition.ConstraintDescription : pattern;
    throw new Error(`${what} does not fit template.yaml's ${name}: ${rule}`);
  }
}

/**
 * Lambda refuses an SQS event source mapping whose queue's visibility timeout is shorter than
 * the function's timeout (CreateEventSourceMapping: InvalidParameterValueException): a batch
 * still running would be received again, and a room's records handled twice at once.
 */
export function checkVisibilityTimeouts(
  model: TemplateModel,
  options: Pick<LocalChatOptions, 'visibilityTimeoutSeconds' | 'functionTimeouts'>,
): void {
  for (const trigger of model.sqsTriggers) {
    const queue = model.queues.find((q) => q.logicalId === trigger.queueId);
    const visibility = options.visibilityTimeoutSeconds ?? queue?.visibilityTimeoutSeconds ?? 30;
    const timeout =
      options.functionTimeouts?.[trigger.functionId] ??
      model.functions[trigger.functionId]?.timeoutSeconds ??
      3;
    if (visibility < timeout) {
      throw new Error(
        `Queue visibility timeout: ${visibility} seconds is less than Function timeout: ${timeout} seconds ` +
          `(${trigger.queueId} → ${trigger.functionId}; Lambda refuses this event source mapping).`,
      );
    }
  }
}

async function buildWebClient(
  webRoot: string,
  log: LogSink,
  options: Record<string, unknown>,
): Promise<void> {
  const builder = path.join(REPO_ROOT, 'web', 'build.ts');
  if (!existsSync(builder)) return;
  try {
    // require, not import(): works the same under tsx (npm start) and in Jest's module system.
    const mod = require(builder) as {
      buildWeb?: (outDir: string, options: Record<string, unknown>) => Promise<void>;
    };
    if (typeof mod.buildWeb === 'function') await mod.buildWeb(webRoot, options);
  } catch (error) {
    log(
      `web client build failed (serving what is in ${path.relative(REPO_ROOT, webRoot)}): ${(error as Error).message}`,
    );
  }
}

let buildCounter = 0;

export async function startLocalChat(options: LocalChatOptions = {}): Promise<LocalChat> {
  const started = Date.now();
  const authMode = options.auth ?? 'token';
  const chatToken = authMode === 'jwt' ? '' : (options.chatToken ?? DEFAULT_CHAT_TOKEN);
  const adminToken = authMode === 'jwt' ? '' : (options.adminToken ?? DEFAULT_ADMIN_TOKEN);
  const log = redactingSink(options.log ?? ((line) => process.stdout.write(`${line}\n`)), [
    chatToken,
    adminToken,
  ]);
  const stackName = options.stackName ?? 'local';
  const host = options.host ?? '127.0.0.1';
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  // jwt mode: the issuer the authorizer trusts, as template parameters (AuthMode, JwtIssuer, …).
  const issuer =
    authMode === 'jwt' ? await startLocalIssuer({ port: options.authIssuerPort ?? 0 }) : undefined;
  // An empty admin token means "no admins", which the template spells `none`.
  const adminParameter = adminToken.trim() === '' ? 'none' : adminToken;
  let model: TemplateModel;
  try {
    model = loadTemplateModel(
      options.templateFile ?? TEMPLATE_FILE,
      issuer
        ? { AuthMode: 'jwt', JwtIssuer: issuer.url, JwtAudience: issuer.clientId, JwtJwksUri: issuer.jwksUri }
        : { ChatAuthToken: chatToken, AdminAuthToken: adminParameter },
    );
    if (!issuer) {
      checkParameter(model, 'ChatAuthToken', chatToken, 'The chat token');
      checkParameter(model, 'AdminAuthToken', adminParameter, 'The admin token');
    }
    checkVisibilityTimeouts(model, options);
  } catch (error) {
    await issuer?.stop();
    throw error;
  }
  const faults = createFaults(options.faults);
  const functionLogs = options.functionLogs ?? 'errors';
  const webRoot = path.resolve(options.webRoot ?? path.join(REPO_ROOT, 'web', 'dist'));
  const trigger = model.sqsTriggers[0];
  const [table] = model.tables;
  if (!trigger || !table)
    throw new Error('template.yaml: expected a DynamoDB table and an SQS-triggered function');

  // Everything started so far, stopped in reverse order by stopAll (also when starting fails).
  const h: {
    ddbLocal?: { stop(): Promise<void> };
    sqsLocal?: { stop(): Promise<void> };
    functions?: LocalFunctions;
    gateway?: Gateway;
    eventSources?: SqsEventSource[];
    dynamoDbFaultProxy?: DynamoDbFaultProxy;
    sqsFaultProxy?: SqsFaultProxy;
    clients?: { destroy(): void }[];
  } = {};
  const stopAll = async () => {
    // Gracefully, for at most stopGraceMs: connections close first (their $disconnect still
    // reaches the backends), then the event source finishes its batches while @connections
    // still answers.
    const graceful = (async () => {
      await h.gateway?.closeConnections();
      await Promise.all((h.eventSources ?? []).map((source) => source.stop()));
    })().catch(quiet);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.stopGraceMs ?? STOP_GRACE_MS);
    });
    await Promise.race([graceful, grace]);
    clearTimeout(timer);
    // Then whatever still runs is cut short: sandboxes terminated (their invocations fail at
    // once), sockets dropped, however stuck a client is.
    await h.functions?.stop();
    await h.gateway?.close();
    await Promise.all((h.eventSources ?? []).map((source) => source.stop()));
    await issuer?.stop();
    await h.dynamoDbFaultProxy?.stop();
    await h.sqsFaultProxy?.stop();
    for (const client of h.clients ?? []) client.destroy();
    await h.sqsLocal?.stop();
    await h.ddbLocal?.stop();
  };

  // Everything that does not depend on anything else starts at once.
  const dynamoDbEndpoint = options.dynamoDbEndpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const sqsEndpoint = options.sqsEndpoint ?? process.env.AWS_ENDPOINT_URL_SQS;
  const ddbLocal = dynamoDbEndpoint
    ? Promise.resolve(undefined)
    : startDynamoDbLocal({
        ...(options.persistDir ? { persistDir: options.persistDir } : {}),
        // While the functions build: the first requests then do not pay for the JVM's JIT.
        warmUpMs: 1500,
        log: quiet,
      }).then((handle) => (h.ddbLocal = handle));
  const sqsLocal = sqsEndpoint
    ? Promise.resolve(undefined)
    : startSqsLocal().then((handle) => (h.sqsLocal = handle));
  let resources: LocalResources | undefined;
  const functionsReady = LocalFunctions.start({
    functions: Object.values(model.functions),
    configure: (fn) => {
      if (!resources) throw new Error('The local resources are not ready yet');
      const env = resolveFunctionEnv(model, fn, resources, {
        // The functions reach DynamoDB and SQS through the fault proxies when their switches were given.
        ...(h.dynamoDbFaultProxy ? { AWS_ENDPOINT_URL_DYNAMODB: h.dynamoDbFaultProxy.endpoint } : {}),
        ...options.functionEnv,
      });
      const sqsProxy = h.sqsFaultProxy;
      if (sqsProxy) {
        // SDK v3's SQS client sends each request to its QueueUrl's host (useQueueUrlAsEndpoint),
        // so the queue URLs themselves must name the proxy, not only AWS_ENDPOINT_URL_SQS.
        const origin = new URL(resources.sqsEndpoint).origin;
        for (const [name, value] of Object.entries(env))
          env[name] = value.split(origin).join(sqsProxy.endpoint);
      }
      return { functionName: localFunctionName(stackName, fn.logicalId), env };
    },
    buildDir: path.join(REPO_ROOT, '.cache', 'local-build', `${process.pid}-${++buildCounter}`),
    watch: options.watch ?? false,
    ...(options.defaultConcurrency !== undefined ? { defaultConcurrency: options.defaultConcurrency } : {}),
    ...(options.functionTimeouts ? { timeouts: options.functionTimeouts } : {}),
    log,
    output: (id, line) => {
      for (const out of functionOutputLines(id, line, functionLogs)) log(out);
    },
  }).then((functions) => (h.functions = functions));
  const webAuth = issuer
    ? { signIn: { kind: 'local', tokenUrl: issuer.tokenUrl, clientId: issuer.clientId } }
    : {};
  const webBuilt =
    (options.buildWeb ?? options.watch) ? buildWebClient(webRoot, log, webAuth) : Promise.resolve();

  let inFlight = 0;
  const invoke = async (id: string, event: unknown, invokeOptions?: InvokeOptions) => {
    inFlight += 1;
    try {
      const outcome = await (h.functions ?? (await functionsReady)).invoke(id, event, invokeOptions);
      options.onInvoke?.(id, event, outcome);
      return outcome;
    } finally {
      inFlight -= 1;
    }
  };

  try {
    const gateway = await Gateway.start({
      model,
      functions: { invoke },
      host,
      port: options.port ?? 0,
      apiId: localApiId(stackName),
      idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60 * 1000,
      maxConnectionMs: options.maxConnectionMs ?? 2 * 60 * 60 * 1000,
      faults,
      log,
      webRoot,
      frameOrdering: options.frameOrdering ?? 'concurrent',
    });
    h.gateway = gateway;

    const [ddbHandle, sqsHandle] = await Promise.all([ddbLocal, sqsLocal]);
    const clientConfig = {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      // A local request that hangs must not stall the event source's poll loop for ever.
      requestHandler: { connectionTimeout: 2000, requestTimeout: 10_000, throwOnRequestTimeout: true },
    };
    const ddbEndpoint = dynamoDbEndpoint ?? (ddbHandle?.endpoint as string);
    const sqsUrl = sqsEndpoint ?? (sqsHandle?.endpoint as string);
    const ddb = new DynamoDBClient({ ...clientConfig, endpoint: ddbEndpoint });
    if (options.faults?.dynamodb) {
      h.dynamoDbFaultProxy = await startDynamoDbFaultProxy(ddbEndpoint, faults, urlHost);
    }
    if (options.faults?.sqs) {
      h.sqsFaultProxy = await startSqsFaultProxy(sqsUrl, faults, urlHost);
    }
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsUrl });
    h.clients = [ddb, sqs];
    const [tables, queues] = await Promise.all([
      provisionTables(ddb, model, stackName),
      provisionQueues(sqs, model, stackName, options.visibilityTimeoutSeconds),
    ]);
    resources = {
      stackName,
      apiId: localApiId(stackName),
      stage: model.stageName,
      httpUrl: `http://${urlHost}:${gateway.port}`,
      wsUrl: `ws://${urlHost}:${gateway.port}`,
      tables,
      queues,
      dynamoDbEndpoint: ddbEndpoint,
      sqsEndpoint: sqsUrl,
    };
    const functions = await functionsReady;
    await functions.warm();

    // One event source mapping per SQS trigger in the template (this one has the fanout's).
    h.eventSources = model.sqsTriggers.map((t) => {
      const queue = queues[t.queueId] as LocalQueue;
      const queueModel = model.queues.find((q) => q.logicalId === t.queueId);
      return new SqsEventSource({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        trigger: t,
        visibilityTimeoutSeconds:
          options.visibilityTimeoutSeconds ?? queueModel?.visibilityTimeoutSeconds ?? 30,
        ...(queueModel?.redrive ? { maxReceiveCount: queueModel.redrive.maxReceiveCount } : {}),
        ...(sqsHandle ? { hints: sqsHandle } : {}),
        invoke: (event) =>
          invoke(
            t.functionId,
            event,
            faultFires(faults, faults.fanout.crashRate) ? { crashAfterMs: faults.fanout.crashAfterMs } : {},
          ),
        log,
      });
    });
    for (const source of h.eventSources) source.start();
    const queue = queues[trigger.queueId] as LocalQueue;
    const deadLetterId = model.queues.find((q) => q.logicalId === trigger.queueId)?.redrive
      ?.deadLetterQueueId;
    await webBuilt;
    // Handshakes that arrived while the stack started have waited for this.
    gateway.open();

    let stopping: Promise<void> | undefined;
    return {
      port: gateway.port,
      wsUrl: resources.wsUrl,
      httpUrl: resources.httpUrl,
      chatToken,
      adminToken,
      authMode,
      ...(issuer ? { issuer } : {}),
      tableName: resources.tables[table.logicalId] as string,
      queueUrl: queue.url,
      deadLetterQueueUrl: deadLetterId ? (queues[deadLetterId]?.url ?? '') : '',
      dynamoDbEndpoint: resources.dynamoDbEndpoint,
      sqsEndpoint: resources.sqsEndpoint,
      stackName,
      faults,
      ...(h.dynamoDbFaultProxy ? { dynamoDbFaultProxy: h.dynamoDbFaultProxy } : {}),
      ...(h.sqsFaultProxy ? { sqsFaultProxy: h.sqsFaultProxy } : {}),
      model,
      resources,
      connectionIds: () => gateway.connectionIds,
      invocationsInFlight: () => inFlight,
      functionStats: (id) => functions.stats(id),
      reclaimIdleSandboxes: (keep) => functions.reclaimIdle(keep),
      startupMs: Date.now() - started,
      stop: () => {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await Promise.allSettled([ddbLocal, sqsLocal, functionsReady, webBuilt]);
    await stopAll().catch(quiet);
    throw error;
  }
}
