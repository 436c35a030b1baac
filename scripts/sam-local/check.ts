/**
 * The CI check of `sam local invoke` (`npm run test:sam-local`, run inside `scripts/sam-local.sh`):
 * every sample event in events/ goes through the SAM CLI itself — a Lambda container of the
 * (local) Node.js 22 base image on the template's architecture, the layer at /opt, the Runtime API —
 * with events/env.json, against DynamoDB Local and the SQS emulator (scripts/sam-local/services.ts),
 * and each answer is checked.
 *
 * Which function an event is for comes from the event and template.yaml (its route key, the
 * authorizer's REQUEST shape, SQS records); what each function must do is the table EXPECTED below.
 * A new event of a known function needs nothing here; an event of a new function gets the generic
 * check (a 2xx answer, no function error) until it has a row.
 *
 * Needs `npm run build` first (the README's build command), and DOCKER_HOST (scripts/sam-local.sh).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { type Document, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { sqsRecordOf } from '../../local/lambda/sqs-event-source';
import { REPO_ROOT } from '../../local/repo-root';
import { loadTemplateModel, type TemplateModel } from '../../local/template/template-model';
import {
  CONNECTIONS_PORT,
  CONNECTIONS_STAGE,
  type SamLocalServices,
  startSamLocalServices,
} from './services';

const EVENTS_DIR = path.join(REPO_ROOT, 'events');
const ENV_FILE = path.join(EVENTS_DIR, 'env.json');
const BUILT_TEMPLATE = path.join(REPO_ROOT, '.aws-sam', 'build', 'template.yaml');
const SCRATCH = path.join(REPO_ROOT, '.cache', 'sam-local');
/** Variables events/env.json sets that the template must declare for SAM to pass them on. */
const ENDPOINT_VARIABLES = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS'];
const INVOKE_TIMEOUT_MS = 600_000;
const TIMEOUT_FACTOR_UNDER_EMULATION = Number(process.env.SAM_LOCAL_TIMEOUT_FACTOR ?? 6);

type Json = Record<string, unknown>;

interface Invocation {
  result: unknown;
  stderr: string;
  /** The whole `sam local invoke` (image build, container, init and invoke). */
  ms: number;
  /** The Duration the runtime interface emulator reports (init and invoke), if it printed one. */
  functionMs?: number;
}

interface Outcome {
  event: string;
  functionId: string;
  ms: number;
  detail: string;
}

/** What the check can see and do around one invocation. */
interface CheckContext {
  event: Json;
  eventFile: string;
  services: SamLocalServices;
  invoke: (functionId: string, eventFile: string) => Promise<Invocation>;
}

interface Expectation {
  /** Events run in this order (lower first), so that e.g. enterroom finds its connection. */
  order: number;
  /** Runs the invocation and throws with a reason when the outcome is wrong; returns a summary. */
  run: (functionId: string, ctx: CheckContext) => Promise<{ ms: number; detail: string }>;
}

// ------------------------------------------------------------------------------------------------
// Observations

function fail(message: string): never {
  throw new Error(message);
}

async function tableItems(services: SamLocalServices): Promise<Json[]> {
  const items: Json[] = [];
  for (const TableName of Object.values(services.tables)) {
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await services.dynamoDb.send(new ScanCommand({ TableName, ExclusiveStartKey }));
      items.push(...((page.Items ?? []) as Json[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return items;
}

/** The message (and error message) of the first error-level JSON log line the function printed. */
function firstErrorLogged(stderr: string): string | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.includes('"level":"error"') && !line.includes('"level":"ERROR"')) continue;
    try {
      const entry = JSON.parse(line.slice(line.indexOf('{'))) as {
        message?: string;
        error?: { message?: string };
      };
      return [entry.message, entry.error?.message]
        .filter(Boolean)
        .join(': ')
        .replace(/\s+/g, ' ')
        .slice(0, 240);
    } catch {
      return line.slice(0, 200);
    }
  }
  return undefined;
}

const mentioning = (items: Json[], text: string) =>
  items.filter((item) => JSON.stringify(item).includes(text));

/** Messages in the queues that feed a function (the emulator counts in-flight ones too; nothing reads here). */
async function queuedMessages(services: SamLocalServices, model: TemplateModel): Promise<number> {
  let total = 0;
  for (const trigger of model.sqsTriggers) {
    const queue = services.queues[trigger.queueId] ?? fail(`no local queue for ${trigger.queueId}`);
    const { Attributes } = await services.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    total += Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  }
  return total;
}

const connectionIdOf = (event: Json) =>
  String(
    ((event.requestContext ?? {}) as Json).connectionId ??
      fail('the event has no requestContext.connectionId'),
  );

/** A route's Lambda proxy answer: 2xx, and no `error` event in the body. */
function expectRouteSuccess(result: unknown): string {
  const answer = (result ?? {}) as { statusCode?: number; body?: string };
  if (answer.statusCode === undefined) return 'no status';
  const body = answer.body ? (JSON.parse(answer.body) as Json) : undefined;
  if (answer.statusCode < 200 || answer.statusCode > 299 || body?.type === 'error') {
    fail(`expected a 2xx answer without an error event, got ${JSON.stringify(result)}`);
  }
  return `status ${answer.statusCode}`;
}

/** Routes that must succeed and leave `effect` behind (checked on the state before and after). */
function routeThat(
  order: number,
  effect?: (before: State, after: State, event: Json) => string,
): Expectation {
  return {
    order,
    async run(functionId, ctx) {
      const before = await stateOf(ctx);
      const { result, ms } = await ctx.invoke(functionId, ctx.eventFile);
      const status = expectRouteSuccess(result);
      const after = await stateOf(ctx);
      return { ms, detail: [status, effect?.(before, after, ctx.event)].filter(Boolean).join(', ') };
    },
  };
}

interface State {
  items: Json[];
  queued: number;
}

let templateModel: TemplateModel;
async function stateOf(ctx: CheckContext): Promise<State> {
  return { items: await tableItems(ctx.services), queued: await queuedMessages(ctx.services, templateModel) };
}

const queuedOne = (before: State, after: State) => {
  if (after.queued <= before.queued)
    fail(`expected a room event on the queue; ${after.queued} before and after`);
  return `${after.queued - before.queued} queued`;
};

// ------------------------------------------------------------------------------------------------
// The table of expected outcomes, per function (logical id in template.yaml)

const EXPECTED: Record<string, Expectation> = {
  AuthorizerFunction: {
    order: 0,
    async run(functionId, ctx) {
      const allow = await ctx.invoke(functionId, ctx.eventFile);
      const effect = (result: unknown) =>
        (
          (result as { policyDocument?: { Statement?: { Effect?: string }[] } })?.policyDocument?.Statement ??
          []
        )
          .map((s) => s.Effect)
          .join(',');
      if (effect(allow.result) !== 'Allow')
        fail(`expected an Allow policy, got ${JSON.stringify(allow.result)}`);
      // The same request with a token nobody issued must be denied.
      const denyFile = writeScratchEvent('authorizer-wrong-token.json', withWrongToken(ctx.event));
      const deny = await ctx.invoke(functionId, denyFile);
      if (effect(deny.result) !== 'Deny') fail(`expected a Deny policy, got ${JSON.stringify(deny.result)}`);
      return {
        ms: allow.ms + deny.ms,
        detail: 'Allow for the sample token, Deny for a wrong one',
      };
    },
  },
  ConnectFunction: routeThat(1, (before, after, event) => {
    const id = connectionIdOf(event);
    if (mentioning(after.items, id).length <= mentioning(before.items, id).length) {
      fail(`expected the connection ${id} to be stored`);
    }
    return 'connection stored';
  }),
  EnterRoomFunction: routeThat(2, (before, after, event) => {
    const id = connectionIdOf(event);
    const { roomId } = JSON.parse(String(event.body)) as { roomId: string };
    const added = after.items.length - before.items.length;
    const membership = mentioning(after.items, id).filter((item) => JSON.stringify(item).includes(roomId));
    if (added < 1 || membership.length === 0) {
      fail(`expected new items for ${id} in room ${roomId}; ${added} items added`);
    }
    return `${added} items written, ${queuedOne(before, after)}`;
  }),
  SendMessageFunction: routeThat(3, queuedOne),
  BroadcastFunction: routeThat(4, queuedOne),
  FanoutFunction: {
    order: 5,
    async run(functionId, ctx) {
      // The sample batch (events/fanout-sqs-batch.json): its entries are not the table's, so the
      // answer's shape is what can be checked.
      const sample = await ctx.invoke(functionId, ctx.eventFile);
      const sampleFailures = batchItemFailuresOf(sample.result, ctx.event);
      const why = firstErrorLogged(sample.stderr);
      // Then what the event source mapping would hand it: the room events enterroom and
      // sendmessage queued. They must all succeed, and reach the sample connection.
      const { batchFile, records, deleteAll } = await queuedBatch(ctx.services, 'room events');
      const real = await ctx.invoke(functionId, batchFile);
      const realFailures = batchItemFailuresOf(real.result, { Records: records });
      if (realFailures.length > 0) {
        const realWhy = firstErrorLogged(real.stderr);
        fail(
          `the queued room events failed: ${JSON.stringify(realFailures)}${realWhy ? ` (${realWhy})` : ''}`,
        );
      }
      await deleteAll();
      const types = postedTo(ctx.services, SAMPLE_CONNECTION).map((frame) => frame.type);
      for (const type of ['entered', 'message']) {
        if (!types.includes(type))
          fail(`${SAMPLE_CONNECTION} was posted ${JSON.stringify(types)}, with no ${type} event`);
      }
      return {
        ms: sample.ms + real.ms,
        detail:
          `sample batch: batchItemFailures ${sampleFailures.length} of ${ctx.event.Records ? (ctx.event.Records as unknown[]).length : 0}` +
          `${why ? ` (first error logged: ${why})` : ''}; ${records.length} queued room events: ` +
          `all delivered, ${SAMPLE_CONNECTION} got ${types.join(', ')}`,
      };
    },
  },
  HistoryFunction: {
    order: 5.5,
    async run(functionId, ctx) {
      const id = connectionIdOf(ctx.event);
      const before = postedTo(ctx.services, id).length;
      const { result, ms } = await ctx.invoke(functionId, ctx.eventFile);
      const status = expectRouteSuccess(result);
      const history = postedTo(ctx.services, id)
        .slice(before)
        .filter((frame) => frame.type === 'history');
      const events = history.flatMap((frame) => (frame.events ?? []) as { type?: string }[]);
      if (!events.some((event) => event.type === 'message'))
        fail(`expected history events with the sample message for ${id}, got ${JSON.stringify(history)}`);
      return {
        ms,
        detail: `${status}, ${history.length} history frame(s): ${events.map((e) => e.type).join(', ')}`,
      };
    },
  },
  ExitRoomFunction: routeThat(6, queuedOne),
  DisconnectFunction: routeThat(7, (before, after, event) => {
    const id = connectionIdOf(event);
    const left = mentioning(after.items, id).length;
    if (left >= mentioning(before.items, id).length) fail(`expected the records of ${id} to be removed`);
    return `records of the connection removed (${left} left)`;
  }),
  DefaultFunction: {
    order: 8,
    async run(functionId, ctx) {
      const { result, ms } = await ctx.invoke(functionId, ctx.eventFile);
      const answer = (result ?? {}) as { statusCode?: number; body?: string };
      const body = answer.body ? (JSON.parse(answer.body) as Json) : {};
      if (body.type !== 'error' || typeof body.code !== 'string' || (answer.statusCode ?? 0) < 400) {
        fail(`expected a 4xx answer with an error event, got ${JSON.stringify(result)}`);
      }
      return { ms, detail: `error event ${body.code} (status ${answer.statusCode})` };
    },
  },
};

/** The connection of the sample events (connect, enterroom, sendmessage, history, exitroom, ...). */
const SAMPLE_CONNECTION = 'LZ3kfdhHoAMCJpg=';

function batchItemFailuresOf(result: unknown, event: Json): { itemIdentifier: string }[] {
  const failures = (result as { batchItemFailures?: unknown })?.batchItemFailures;
  if (!Array.isArray(failures)) fail(`expected { batchItemFailures: [...] }, got ${JSON.stringify(result)}`);
  const ids = new Set(((event.Records ?? []) as { messageId: string }[]).map((r) => r.messageId));
  for (const failure of failures as { itemIdentifier?: string }[]) {
    if (!failure.itemIdentifier || !ids.has(failure.itemIdentifier)) {
      fail(`batchItemFailures names ${JSON.stringify(failure)}, not a record of the batch`);
    }
  }
  return failures as { itemIdentifier: string }[];
}

/** The frames the @connections endpoint recorded for a connection, parsed. */
function postedTo(services: SamLocalServices, connectionId: string): Json[] {
  return (services.connections.posted.get(connectionId) ?? []).map((frame) => JSON.parse(frame) as Json);
}

/**
 * Everything queued for the fanout, received (up to 10, as the trigger's BatchSize allows) and
 * written as the SQS event the event source mapping would invoke it with.
 */
async function queuedBatch(services: SamLocalServices, what: string) {
  const [trigger] = templateModel.sqsTriggers;
  const queue = services.queues[trigger?.queueId ?? ''] ?? fail('no queue feeds the fanout');
  const { Messages = [] } = await services.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      AttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  if (Messages.length === 0) fail(`no ${what} on the queue`);
  const records = Messages.map((message) => sqsRecordOf(message, queue.arn));
  const batchFile = writeScratchEvent('fanout-queued-batch.json', { Records: records });
  return {
    batchFile,
    records,
    /** What the event source mapping does with a batch that succeeded. */
    deleteAll: async () => {
      for (const message of Messages) {
        await services.sqs.send(
          new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle }),
        );
      }
    },
  };
}

/**
 * A function with no row yet: it must answer without a function error (a route: 2xx). It runs
 * while the sample connection is in its room (after sendmessage, before exitroom).
 */
const GENERIC: Expectation = routeThat(3.5);

// ------------------------------------------------------------------------------------------------
// Events, functions and the SAM CLI

function functionForEvent(event: Json, file: string, model: TemplateModel): string {
  const records = event.Records as { eventSource?: string }[] | undefined;
  if (records?.[0]?.eventSource === 'aws:sqs') {
    const [trigger, ...others] = model.sqsTriggers;
    if (!trigger || others.length)
      fail(`${file}: SQS records, but the template has ${model.sqsTriggers.length} SQS triggers`);
    return trigger.functionId;
  }
  if (event.type === 'REQUEST' && event.methodArn && model.authorizer) return model.authorizer.functionId;
  const routeKey = (event.requestContext as Json | undefined)?.routeKey;
  const route = model.routes.find((r) => r.routeKey === routeKey);
  if (route) return route.functionId;
  return fail(
    `${file}: cannot tell which function of template.yaml it is for (no SQS records, authorizer request or known route key)`,
  );
}

/** The authorizer event with every identity source replaced by a token nobody issued. */
function withWrongToken(event: Json): Json {
  const copy = structuredClone(event);
  for (const source of templateModel.authorizer?.identitySources ?? []) {
    const [, where, name] = /^route\.request\.(querystring|header)\.(.+)$/.exec(source) ?? [];
    if (!where || !name) continue;
    const single = where === 'querystring' ? 'queryStringParameters' : 'headers';
    const multi = where === 'querystring' ? 'multiValueQueryStringParameters' : 'multiValueHeaders';
    if (copy[single]) (copy[single] as Json)[name] = 'not-a-token-anyone-issued';
    if (copy[multi]) (copy[multi] as Json)[name] = ['not-a-token-anyone-issued'];
  }
  return copy;
}

function writeScratchEvent(name: string, event: Json): string {
  mkdirSync(path.join(SCRATCH, 'events'), { recursive: true });
  const file = path.join(SCRATCH, 'events', name);
  writeFileSync(file, `${JSON.stringify(event, null, 2)}\n`);
  return file;
}

const hostArch = process.arch === 'arm64' ? 'arm64' : 'x86_64';

/** The Lambda architectures of the built template's functions (Globals or their own; x86_64 by default). */
function architecturesOf(doc: Document): Set<string> {
  const globals = doc.getIn(['Globals', 'Function', 'Architectures']) as YAMLSeq | undefined;
  const archs = new Set<string>();
  const resources = doc.get('Resources') as YAMLMap<unknown, YAMLMap> | undefined;
  for (const pair of resources?.items ?? []) {
    if (pair.value?.get('Type') !== 'AWS::Serverless::Function') continue;
    const own = pair.value.getIn(['Properties', 'Architectures']) as YAMLSeq | undefined;
    for (const arch of ((own ?? globals)?.toJSON() as string[] | undefined) ?? ['x86_64']) archs.add(arch);
  }
  return archs;
}

/**
 * The template `sam local invoke` runs with: the built one, or a copy of it (in .aws-sam/build/,
 * where the functions' CodeUri resolve) that differs in two ways, each printed when it applies:
 * - SAM passes a variable from --env-vars only if the function declares it. Until template.yaml
 *   declares the endpoint variables (Globals, `!Ref AWS::NoValue`: unset in AWS), the copy does.
 * - A function of another architecture than this machine's runs under qemu-user, whose cold start
 *   takes ~5-10x as long; SAM counts it against the function's Timeout (AWS does not count init),
 *   so the copy multiplies every Timeout by TIMEOUT_FACTOR_UNDER_EMULATION. The durations are
 *   printed as measured.
 */
function templateForInvoke(model: TemplateModel, env: Record<string, Json>): string | undefined {
  const doc = parseDocument(readFileSync(BUILT_TEMPLATE, 'utf8'));
  let changed = false;
  const undeclared = new Set<string>();
  for (const [functionId, vars] of Object.entries(env)) {
    const declared = model.functions[functionId]?.environment ?? {};
    for (const name of ENDPOINT_VARIABLES) if (name in vars && !(name in declared)) undeclared.add(name);
  }
  if (undeclared.size > 0) {
    for (const name of undeclared) {
      doc.setIn(['Globals', 'Function', 'Environment', 'Variables', name], { Ref: 'AWS::NoValue' });
    }
    changed = true;
    console.log(
      `NOTE: template.yaml does not declare ${[...undeclared].join(', ')}: SAM would drop them from ` +
        'events/env.json and the SDK would call AWS. The invoked copy declares them in Globals as ' +
        '!Ref AWS::NoValue (docs/sam-local.md).',
    );
  }
  const emulated = [...architecturesOf(doc)].filter((arch) => arch !== hostArch);
  if (emulated.length > 0 && TIMEOUT_FACTOR_UNDER_EMULATION !== 1) {
    const scale = (keyPath: unknown[], fallback?: number) => {
      const value = doc.getIn(keyPath) as number | undefined;
      if (value === undefined && fallback === undefined) return;
      doc.setIn(keyPath, Number(value ?? fallback) * TIMEOUT_FACTOR_UNDER_EMULATION);
    };
    scale(['Globals', 'Function', 'Timeout'], 3);
    const resources = doc.get('Resources') as YAMLMap<unknown, YAMLMap> | undefined;
    for (const pair of resources?.items ?? []) {
      if (pair.value?.get('Type') === 'AWS::Serverless::Function')
        scale(['Resources', pair.key, 'Properties', 'Timeout']);
    }
    changed = true;
    console.log(
      `NOTE: the functions are ${emulated.join(', ')} and this machine is ${hostArch}: they run under qemu-user, ` +
        `so the invoked copy of the template has every Timeout x${TIMEOUT_FACTOR_UNDER_EMULATION} ` +
        '(SAM_LOCAL_TIMEOUT_FACTOR; 1 keeps them).',
    );
  }
  if (!changed) return undefined;
  const copy = path.join(path.dirname(BUILT_TEMPLATE), 'template.sam-local.yaml');
  writeFileSync(copy, doc.toString());
  return copy;
}

/** Every invocation of the run, for the timing summary. */
const invocations: ({ functionId: string } & Invocation)[] = [];

function samInvoke(template: string | undefined) {
  return (functionId: string, eventFile: string): Promise<Invocation> =>
    new Promise((resolve, reject) => {
      const args = [
        'local',
        'invoke',
        functionId,
        '--event',
        path.relative(REPO_ROOT, eventFile),
        '--env-vars',
        path.relative(REPO_ROOT, ENV_FILE),
        '--add-host',
        'host.docker.internal:host-gateway',
        '--skip-pull-image',
        ...(template ? ['--template', path.relative(REPO_ROOT, template)] : []),
      ];
      const started = Date.now();
      const child = spawn('sam', args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGTERM'), INVOKE_TIMEOUT_MS);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot run sam: ${error.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        const ms = Date.now() - started;
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        const timedOut = /timed out after \d+ seconds/.exec(stderr);
        if (timedOut) {
          reject(
            new Error(
              `sam local invoke ${functionId}: function ${timedOut[0]} (the template's Timeout; load average ` +
                `${loadavg()[0]?.toFixed(1)}: a foreign architecture runs under qemu-user, ~5-10x slower)\n${tail}`,
            ),
          );
          return;
        }
        if (process.env.SAM_LOCAL_CHECK_LOGS) process.stderr.write(stderr);
        const line = stdout.trim().split('\n').pop();
        if (code !== 0 || !line) {
          reject(new Error(`sam local invoke ${functionId} exited ${code} with no result\n${tail}`));
          return;
        }
        try {
          const result = JSON.parse(line) as unknown;
          const error = result as { errorType?: string; errorMessage?: string } | null;
          if (error?.errorType && error.errorMessage) {
            reject(new Error(`${functionId} failed: ${error.errorType}: ${error.errorMessage}\n${tail}`));
            return;
          }
          const reported = /\tDuration: ([\d.]+) ms/.exec(stderr)?.[1];
          const invocation = { result, stderr, ms, ...(reported ? { functionMs: Number(reported) } : {}) };
          invocations.push({ functionId, ...invocation });
          resolve(invocation);
        } catch {
          reject(new Error(`sam local invoke ${functionId} printed no JSON result: ${line}\n${tail}`));
        }
      });
    });
}

/** events/env.json must name the table and queues the services created, at host.docker.internal. */
function checkEnvFile(env: Record<string, Json>, services: SamLocalServices): void {
  const tableNames = new Set(Object.values(services.tables));
  const queueNames = new Set(Object.values(services.queues).map((q) => q.name));
  for (const [functionId, vars] of Object.entries(env)) {
    for (const [name, value] of Object.entries(vars)) {
      const text = String(value);
      if (name === 'TABLE_NAME' && !tableNames.has(text))
        fail(`events/env.json ${functionId}.TABLE_NAME ${text} is not ${[...tableNames]}`);
      if (/QUEUE_URL$/.test(name) && !queueNames.has(text.slice(text.lastIndexOf('/') + 1))) {
        fail(`events/env.json ${functionId}.${name} names no queue of the template (${[...queueNames]})`);
      }
      const connections = `http://host.docker.internal:${CONNECTIONS_PORT}/${CONNECTIONS_STAGE}`;
      if (name === 'CONNECTIONS_URL' && text !== connections)
        fail(`events/env.json ${functionId}.CONNECTIONS_URL must be ${connections}, got ${text}`);
      if (/^AWS_ENDPOINT_URL_/.test(name) && !text.startsWith('http://host.docker.internal:')) {
        fail(`events/env.json ${functionId}.${name} must point at host.docker.internal, got ${text}`);
      }
    }
  }
}

async function main(): Promise<number> {
  if (!process.env.DOCKER_HOST)
    fail('DOCKER_HOST is not set; run this through scripts/sam-local.sh (npm run test:sam-local)');
  if (!existsSync(BUILT_TEMPLATE))
    fail(`${path.relative(REPO_ROOT, BUILT_TEMPLATE)} is missing; run npm run build first`);
  templateModel = loadTemplateModel(undefined, { ChatAuthToken: 'x'.repeat(16) });
  const env = JSON.parse(readFileSync(ENV_FILE, 'utf8')) as Record<string, Json>;
  const events = readdirSync(EVENTS_DIR)
    .filter((name) => name.endsWith('.json') && name !== 'env.json')
    .map((name) => {
      const event = JSON.parse(readFileSync(path.join(EVENTS_DIR, name), 'utf8')) as Json;
      const functionId = functionForEvent(event, `events/${name}`, templateModel);
      const expectation = EXPECTED[functionId] ?? GENERIC;
      return { name, event, functionId, expectation };
    })
    .sort((a, b) => a.expectation.order - b.expectation.order || a.name.localeCompare(b.name));
  if (events.length === 0) fail('no sample events in events/');

  const template = templateForInvoke(templateModel, env);
  const t0 = Date.now();
  const services = await startSamLocalServices();
  console.log(`DynamoDB Local and the SQS emulator ready in ${Date.now() - t0} ms`);
  const outcomes: Outcome[] = [];
  const failures: string[] = [];
  try {
    checkEnvFile(env, services);
    // API Gateway knows the sample connections as open for the whole run.
    for (const { event } of events) {
      const id = (event.requestContext as Json | undefined)?.connectionId;
      if (typeof id === 'string') services.connections.open.add(id);
    }
    const invoke = samInvoke(template);
    for (const { name, event, functionId, expectation } of events) {
      const eventFile = path.join(EVENTS_DIR, name);
      process.stdout.write(`sam local invoke ${functionId} -e events/${name} ... `);
      try {
        const { ms, detail } = await expectation.run(functionId, { event, eventFile, services, invoke });
        outcomes.push({ event: name, functionId, ms, detail });
        const functionMs = invocations.at(-1)?.functionMs;
        const timing = `sam ${(ms / 1000).toFixed(1)} s${functionMs ? `, function ${(functionMs / 1000).toFixed(1)} s` : ''}`;
        console.log(`ok (${timing}): ${detail}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push(`events/${name} (${functionId}): ${message}`);
        console.log(`FAILED\n${message.replace(/^/gm, '    ')}`);
      }
    }
  } finally {
    await services.stop();
  }
  const total = outcomes.reduce((sum, o) => sum + o.ms, 0);
  console.log(
    `\nsam local invoke: ${outcomes.length} events in ${(total / 1000).toFixed(1)} s of invocations`,
  );
  for (const failure of failures) console.log(`FAILED ${failure.split('\n')[0]}`);
  console.log(`${outcomes.length} passed, ${failures.length} failed`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`sam local check failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
