/**
 * Starts the local stack for a test file: a free port, logs collected (not printed), and
 * everything the test needs to look at afterwards. Set LOCAL_CHAT_LOGS=1 to see the logs
 * (=all to see the functions' own log lines too).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { REPO_ROOT } from '../../../local/repo-root';
import { type LocalChat, type LocalChatOptions, startLocalChat } from '../../../local/stack';
import { type CfnTemplate, readCfnTemplate } from '../../../local/template/cfn-yaml';
import { TEMPLATE_FILE } from '../../../local/template/template-model';

export interface TestStack {
  chat: LocalChat;
  /** Every log line so far (one per invocation, plus errors). */
  logs: string[];
  /** The events each function received, in order. */
  invocations: { functionId: string; event: unknown; ok: boolean }[];
}

export async function startTestStack(options: LocalChatOptions = {}): Promise<TestStack> {
  const logs: string[] = [];
  const invocations: TestStack['invocations'] = [];
  const print = process.env.LOCAL_CHAT_LOGS === '1' || process.env.LOCAL_CHAT_LOGS === 'all';
  const chat = await startLocalChat({
    port: 0,
    watch: false,
    // As API Gateway: frames of one connection concurrently (a test may ask for 'serial').
    frameOrdering: 'concurrent',
    ...(process.env.LOCAL_CHAT_LOGS === 'all' ? { functionLogs: 'all' as const } : {}),
    ...options,
    log: (line) => {
      logs.push(line);
      if (print) process.stdout.write(`${line}\n`);
    },
    onInvoke: (functionId, event, outcome) => {
      invocations.push({ functionId, event, ok: outcome.ok });
      options.onInvoke?.(functionId, event, outcome);
    },
  });
  return { chat, logs, invocations };
}

/** Bounded poll for conditions that are not events on a client (log lines, table items). */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  description: string,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A copy of template.yaml changed by `edit` (e.g. a ReservedConcurrentExecutions, or a probe
 * function behind a route), written as JSON (which CloudFormation reads too) for the
 * `templateFile` option. Returns its path.
 */
export function templateVariant(name: string, edit: (template: CfnTemplate) => void): string {
  const template = readCfnTemplate(TEMPLATE_FILE);
  edit(template);
  const dir = path.join(REPO_ROOT, '.cache', 'template-variants');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(template, null, 2));
  return file;
}

/** The template resource `id`'s Properties and Metadata.BuildProperties, to edit in a variant. */
export function functionOf(template: CfnTemplate, id: string) {
  const resource = template.Resources[id];
  if (!resource) throw new Error(`template.yaml has no ${id}`);
  resource.Properties ??= {};
  resource.Metadata ??= {};
  const metadata = resource.Metadata as { BuildProperties?: Record<string, unknown> };
  metadata.BuildProperties ??= {};
  return { properties: resource.Properties, build: metadata.BuildProperties };
}

/** Puts a fixture (tests/e2e/support/fixtures/<file>) behind the function `id` in a variant. */
export function useFixture(template: CfnTemplate, id: string, file: string): void {
  const { properties, build } = functionOf(template, id);
  properties.CodeUri = 'tests/e2e/support/fixtures/';
  build.EntryPoints = [file];
}

/**
 * Waits until the stack has settled: nothing queued or in flight on the room events queue,
 * no function running, and no invocation for `quietMs`.
 */
export async function settled(stack: TestStack, quietMs = 700, timeoutMs = 60_000): Promise<void> {
  const sqs = new SQSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    endpoint: stack.chat.sqsEndpoint,
  });
  let last = -1;
  let stableSince = Date.now();
  try {
    await eventually(
      async () => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: stack.chat.queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        const queued =
          Number(Attributes.ApproximateNumberOfMessages ?? 0) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
        const count = stack.invocations.length;
        if (count !== last || queued > 0 || stack.chat.invocationsInFlight() > 0) {
          last = count;
          stableSince = Date.now();
          return false;
        }
        return Date.now() - stableSince > quietMs;
      },
      'the stack to settle',
      timeoutMs,
      50,
    );
  } finally {
    sqs.destroy();
  }
}
