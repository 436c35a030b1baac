/**
 * The local function sandboxes the gateway invokes: a Lambda-like context, only the
 * function's own environment, warm module state, the function's Timeout, errors reported as
 * Lambda reports them (with source-mapped stacks), a crash costing only a cold start, and
 * an edited handler taking effect without a restart.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type InvokeOutcome, LocalFunctions } from '../../local/functions';
import { type FunctionModel, REPO_ROOT } from '../../local/template-model';
import { eventually } from './support/test-stack';

const model = (logicalId: string, entryPoint: string, timeoutSeconds = 1): FunctionModel => ({
  logicalId,
  entryPoint,
  exportName: 'handler',
  runtime: 'nodejs22.x',
  timeoutSeconds,
  memorySize: 128,
  environment: {},
  build: { target: 'es2022', sourcemap: true, minify: true, external: ['@aws-sdk/*'], format: 'cjs' },
});

const PROBE = 'tests/e2e/support/fixtures/sandbox-probe.ts';
const buildDir = (name: string) =>
  path.join(REPO_ROOT, '.cache', 'local-build', `test-${name}-${process.pid}`);
const resultOf = (outcome: InvokeOutcome) => {
  if (!outcome.ok) throw new Error(`${outcome.error.errorType}: ${outcome.error.errorMessage}`);
  return outcome.result as Record<string, unknown>;
};

describe('local function sandboxes', () => {
  let functions: LocalFunctions;

  beforeAll(async () => {
    functions = await LocalFunctions.start({
      functions: [model('ProbeFunction', PROBE), model('OtherFunction', PROBE)],
      configure: (fn) => ({
        functionName: `test-${fn.logicalId}`,
        env: {
          PROBE_VALUE: fn.logicalId === 'ProbeFunction' ? 'one' : 'two',
          AWS_REGION: 'us-east-1',
          NODE_OPTIONS: '--enable-source-maps', // as template.yaml's Globals set it
        },
      }),
      buildDir: buildDir('sandboxes'),
    });
    await functions.warm();
  }, 30_000);

  afterAll(() => functions?.stop());

  it('hands the handler a Lambda-like context', async () => {
    const outcome = await functions.invoke('ProbeFunction', { action: 'describe' });
    const { context } = resultOf(outcome) as { context: Record<string, unknown> };
    expect(context).toEqual({
      awsRequestId: outcome.requestId,
      functionName: 'test-ProbeFunction',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-ProbeFunction',
      memoryLimitInMB: '128',
      logGroupName: '/aws/lambda/test-ProbeFunction',
      remainingMs: expect.any(Number),
    });
    expect(context.remainingMs).toBeGreaterThan(0);
    expect(context.remainingMs).toBeLessThanOrEqual(1000);
  });

  it('gives each function only its own environment, read at cold start', async () => {
    await functions.invoke('ProbeFunction', { action: 'mutate-env' });
    const probe = resultOf(await functions.invoke('ProbeFunction', { action: 'describe' }));
    const other = resultOf(await functions.invoke('OtherFunction', { action: 'describe' }));
    expect(probe).toMatchObject({ atColdStart: 'one', now: 'changed', home: null, region: 'us-east-1' });
    expect(other).toMatchObject({ atColdStart: 'two', now: 'two', home: null });
  });

  it('keeps module state between invocations of a warm sandbox', async () => {
    const first = resultOf(await functions.invoke('OtherFunction', { action: 'describe' }));
    const second = resultOf(await functions.invoke('OtherFunction', { action: 'describe' }));
    expect(second.invocations).toBe((first.invocations as number) + 1);
  });

  it("times out after the function's Timeout, and the next invocation gets a fresh sandbox", async () => {
    const outcome = await functions.invoke('ProbeFunction', { action: 'sleep', ms: 3000 });
    expect(outcome).toMatchObject({
      ok: false,
      error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' },
    });
    expect(outcome.durationMs).toBeLessThan(2000);
    const next = await functions.invoke('ProbeFunction', { action: 'describe' });
    expect(resultOf(next)).toMatchObject({ invocations: 1, now: 'one' });
    expect(next.initMs).toEqual(expect.any(Number));
  });

  it('reports a thrown error as Lambda does, with a stack that points at the TypeScript source', async () => {
    const outcome = await functions.invoke('ProbeFunction', { action: 'throw' });
    expect(outcome).toMatchObject({
      ok: false,
      error: { errorType: 'TypeError', errorMessage: 'scripted failure' },
    });
    const trace = outcome.ok ? [] : (outcome.error.trace ?? []);
    expect(trace.some((line) => line.includes('sandbox-probe.ts'))).toBe(true);
  });

  it('fails the invocation when the runtime crashes, and recovers with a cold start', async () => {
    const outcome = await functions.invoke('ProbeFunction', { action: 'crash' });
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError' } });
    const next = await functions.invoke('ProbeFunction', { action: 'describe' });
    expect(resultOf(next)).toMatchObject({ invocations: 1 });
  });

  it('returns what the handler returns, JSON-serialised (undefined becomes null)', async () => {
    expect(await functions.invoke('ProbeFunction', { action: 'nothing' })).toMatchObject({
      ok: true,
      result: null,
    });
  });
});

describe('local function sandboxes with watch', () => {
  const dir = path.join(REPO_ROOT, '.cache', `watch-fixture-${process.pid}`);
  const source = (version: string) => `export const handler = async () => '${version}';\n`;
  let functions: LocalFunctions;
  const logs: string[] = [];

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'handler.ts'), source('v1'));
    functions = await LocalFunctions.start({
      functions: [model('WatchedFunction', path.relative(REPO_ROOT, path.join(dir, 'handler.ts')))],
      configure: () => ({ functionName: 'test-WatchedFunction', env: {} }),
      buildDir: buildDir('watch'),
      watch: true,
      log: (line) => logs.push(line),
    });
  }, 30_000);

  afterAll(async () => {
    await functions?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the edited handler on the next invocation, without a restart', async () => {
    expect(await functions.invoke('WatchedFunction', {})).toMatchObject({ ok: true, result: 'v1' });
    writeFileSync(path.join(dir, 'handler.ts'), source('v2'));
    await eventually(
      async () => {
        const outcome = await functions.invoke('WatchedFunction', {});
        return outcome.ok && outcome.result === 'v2';
      },
      'the edited handler to answer',
      15_000,
      100,
    );
    expect(logs.some((line) => line.includes('rebuilt WatchedFunction'))).toBe(true);
  });

  it('keeps running the last good build while the source does not compile', async () => {
    writeFileSync(path.join(dir, 'handler.ts'), 'export const handler = async () => {{{;\n');
    await eventually(
      () => logs.some((line) => line.includes('build failed')),
      'the build error to be reported',
    );
    expect(await functions.invoke('WatchedFunction', {})).toMatchObject({ ok: true, result: 'v2' });
  });
});
