/**
 * The local function sandboxes the gateway invokes: a Lambda-like context, only the
 * function's own environment, warm module state, the function's Timeout, errors reported as
 * Lambda reports them (with source-mapped stacks), a crash costing only a cold start, and
 * an edited handler taking effect without a restart. Scaling as in Lambda: one invocation
 * per sandbox, concurrent invocations in sandboxes of their own (each with its own cold
 * start and module state) up to the concurrency limit, throttled beyond reserved
 * concurrency, and a timed-out invocation killed at its Timeout.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type InvokeOutcome, LocalFunctions } from '../../local/lambda/sandboxes';
import { REPO_ROOT } from '../../local/repo-root';
import type { FunctionModel } from '../../local/template/template-model';
import { eventually } from './support/test-stack';

const model = (
  logicalId: string,
  entryPoint: string,
  timeoutSeconds = 1,
  reservedConcurrency?: number,
): FunctionModel => ({
  logicalId,
  entryPoint,
  exportName: 'handler',
  runtime: 'nodejs22.x',
  timeoutSeconds,
  memorySize: 128,
  ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
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

describe('local function sandboxes, scaling as Lambda does', () => {
  let functions: LocalFunctions;
  /** Requests the probes make as their side effects (path = what the probe was told to call). */
  const effects: string[] = [];
  let effectServer: Server;
  let effectUrl: string;

  beforeAll(async () => {
    effectServer = createServer((req, res) => {
      effects.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => effectServer.listen(0, '127.0.0.1', resolve));
    effectUrl = `http://127.0.0.1:${(effectServer.address() as AddressInfo).port}`;
    functions = await LocalFunctions.start({
      functions: [
        model('ScalingFunction', PROBE, 2),
        model('ReservedFunction', PROBE, 2, 2),
        model('ShortFunction', PROBE, 1),
        model('LongFunction', PROBE, 3),
      ],
      configure: (fn) => ({ functionName: `test-${fn.logicalId}`, env: { AWS_REGION: 'us-east-1' } }),
      buildDir: buildDir('scaling'),
      defaultConcurrency: 3,
      timeouts: { LongFunction: 4 },
    });
  }, 30_000);

  afterAll(async () => {
    await functions?.stop();
    await new Promise((resolve) => effectServer?.close(resolve));
  });

  const hold = (id: string, ms: number) => functions.invoke(id, { action: 'hold', ms });

  it('runs concurrent invocations in sandboxes of their own, each paying its own cold start', async () => {
    const before = functions.stats('ScalingFunction');
    const outcomes = await Promise.all([
      hold('ScalingFunction', 400),
      hold('ScalingFunction', 400),
      hold('ScalingFunction', 400),
    ]);
    const results = outcomes.map(resultOf);
    expect(new Set(results.map((r) => r.sandboxId)).size).toBe(3);
    // Module state is per sandbox: each saw only its own invocation.
    expect(results.map((r) => r.invocations)).toEqual([1, 1, 1]);
    expect(outcomes.every((o) => typeof o.initMs === 'number')).toBe(true);
    expect(functions.stats('ScalingFunction')).toMatchObject({
      coldStarts: before.coldStarts + 3,
      peakConcurrency: 3,
      sandboxes: 3,
    });

    // Warm again: the next invocations reuse the three sandboxes, with no cold start.
    const warm = await Promise.all([hold('ScalingFunction', 50), hold('ScalingFunction', 50)]);
    expect(warm.map((o) => o.initMs)).toEqual([undefined, undefined]);
    expect(
      warm.map((o) => resultOf(o).sandboxId).every((id) => results.some((r) => r.sandboxId === id)),
    ).toBe(true);
    expect(functions.stats('ScalingFunction').coldStarts).toBe(before.coldStarts + 3);
  });

  it('never runs more sandboxes than the local default; further invocations wait for one', async () => {
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => hold('ScalingFunction', 300)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(new Set(outcomes.map((o) => resultOf(o).sandboxId)).size).toBeLessThanOrEqual(3);
    expect(functions.stats('ScalingFunction')).toMatchObject({ peakConcurrency: 3, sandboxes: 3 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600); // two rounds of three
  });

  it('reclaims idle sandboxes when told (as Lambda does with unused ones), leaving busy ones running', async () => {
    await Promise.all([
      hold('ScalingFunction', 100),
      hold('ScalingFunction', 100),
      hold('ScalingFunction', 100),
    ]);
    await functions.reclaimIdle(2);
    expect(functions.stats('ScalingFunction').sandboxes).toBe(2);
    const busy = hold('ScalingFunction', 400);
    expect(functions.stats('ScalingFunction').sandboxes).toBeGreaterThanOrEqual(2);

    await functions.reclaimIdle();

    expect(functions.stats('ScalingFunction')).toMatchObject({ sandboxes: 1, busy: 1 });
    expect((await busy).ok).toBe(true);
    await functions.reclaimIdle();
    expect(functions.stats('ScalingFunction').sandboxes).toBe(0);
    const cold = await hold('ScalingFunction', 0);
    expect(typeof cold.initMs).toBe('number');
  });

  it('throttles invocations beyond ReservedConcurrentExecutions as Lambda does, running nothing of them', async () => {
    const outcomes = await Promise.all([
      hold('ReservedFunction', 500),
      hold('ReservedFunction', 500),
      hold('ReservedFunction', 500),
    ]);
    const throttled = outcomes.filter((o) => o.throttled);
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toMatchObject({
      ok: false,
      throttled: true,
      error: { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.' },
    });
    expect(throttled[0]?.durationMs).toBeLessThan(400);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
    expect(functions.stats('ReservedFunction')).toMatchObject({ peakConcurrency: 2, throttles: 1 });
    // Once one is free again, the function takes invocations again.
    expect(resultOf(await hold('ReservedFunction', 0))).toMatchObject({ invocations: 2 });
  });

  it('kills a timed-out invocation at its Timeout: nothing it would do afterwards happens', async () => {
    const [killed, control] = await Promise.all([
      functions.invoke('ShortFunction', { action: 'effect-later', ms: 1500, url: `${effectUrl}/killed` }),
      functions.invoke('LongFunction', { action: 'effect-later', ms: 1500, url: `${effectUrl}/control` }),
    ]);
    expect(killed).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
    expect(killed.durationMs).toBeLessThan(1400);
    expect(control).toMatchObject({ ok: true, result: 'done' });
    // The control made its request 1.5 s in; the killed one, started at the same time, never did.
    expect(effects).toContain('/control');
    expect(effects).not.toContain('/killed');
    expect(functions.stats('ShortFunction').sandboxes).toBe(0);
  });

  it('keeps context.getRemainingTimeInMillis() accurate, with a Timeout set locally', async () => {
    const outcome = await functions.invoke('LongFunction', { action: 'remaining', ms: 500 });
    const { before, after } = resultOf(outcome) as { before: number; after: number };
    expect(before).toBeGreaterThan(3800);
    expect(before).toBeLessThanOrEqual(4000); // functionTimeouts: 4 s instead of the model's 3 s
    expect(before - after).toBeGreaterThanOrEqual(480);
    expect(before - after).toBeLessThan(700);
  });

  it('crashes only the sandbox of the invocation the fault hits', async () => {
    const [crashed, spared] = await Promise.all([
      functions.invoke('ScalingFunction', { action: 'hold', ms: 500 }, { crashAfterMs: 100 }),
      functions.invoke('ScalingFunction', { action: 'hold', ms: 500 }),
    ]);
    expect(crashed).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError' } });
    expect(spared.ok).toBe(true);
  });
});

describe('a function whose sandbox cannot be configured yet', () => {
  let functions: LocalFunctions;
  let ready = false;

  beforeAll(async () => {
    functions = await LocalFunctions.start({
      functions: [model('LateFunction', PROBE, 1, 1)],
      configure: () => {
        if (!ready) throw new Error('not configured yet');
        return { functionName: 'test-LateFunction', env: {} };
      },
      buildDir: buildDir('late'),
    });
  }, 30_000);

  afterAll(() => functions?.stop());

  it('fails the invocation and keeps its concurrency for the next ones', async () => {
    await expect(functions.invoke('LateFunction', { action: 'describe' })).rejects.toThrow(
      'not configured yet',
    );
    expect(functions.stats('LateFunction')).toMatchObject({ busy: 0, sandboxes: 0 });
    ready = true;
    // Reserved concurrency 1: a leaked slot would throttle this one.
    expect(await functions.invoke('LateFunction', { action: 'describe' })).toMatchObject({ ok: true });
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
