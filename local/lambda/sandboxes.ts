/**
 * Runs the template's functions locally, Docker-free, as Lambda runs them: each entry point is
 * bundled with esbuild using the template's BuildProperties (External `@aws-sdk/*` resolved from
 * the repository's node_modules, as the SDK layer provides it in AWS) and runs in worker
 * threads, the local "sandboxes" (execution environments), one invocation each at a time.
 * Scaling, throttles, timeouts, crashes and rebuilds: local/README.md, "Functions".
 *
 * `start` only builds; sandboxes start on `warm()` (one per function) or on demand.
 * With `watch`, esbuild rebuilds on source changes and the functions whose bundle changed
 * start fresh sandboxes for their next invocations.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as esbuild from 'esbuild';
import { REPO_ROOT } from '../repo-root';
import type { FunctionModel } from '../template/template-model';
import type { FromWorker, FunctionError, ToWorker, WorkerData } from './function-worker';

export type { FunctionError } from './function-worker';

export interface FunctionSpec {
  model: FunctionModel;
  /** The deployed-style name, e.g. local-ConnectFunction. */
  functionName: string;
  /** The complete environment of the function (nothing else is inherited). */
  env: Record<string, string>;
}

export type InvokeOutcome = {
  requestId: string;
  durationMs: number;
  /** Set on a cold start (the invocation waited for its sandbox's init): how long init took. */
  initMs?: number;
  /** Lambda refused the invocation: the function was at its reserved concurrency. Nothing ran. */
  throttled?: true;
} & ({ ok: true; result: unknown } | { ok: false; error: FunctionError });

export interface InvokeOptions {
  /** Fault switch: the sandbox running this invocation is killed this long into it. */
  crashAfterMs?: number;
}

/** What a function's sandboxes have done so far (for tests and the log). */
export interface FunctionStats {
  /** The most invocations that ran at once. */
  peakConcurrency: number;
  /** Sandboxes started (each paid its own init). */
  coldStarts: number;
  /** Invocations refused at the reserved concurrency. */
  throttles: number;
  /** Sandboxes alive now (warm or busy). */
  sandboxes: number;
  /** Invocations running now (cold starts included). */
  busy: number;
}

export interface LocalFunctionsOptions {
  functions: FunctionModel[];
  /** The name and environment of a function, asked for when a sandbox starts. */
  configure(model: FunctionModel): Omit<FunctionSpec, 'model'>;
  /** Where bundles are written (one directory per running stack). */
  buildDir: string;
  watch?: boolean;
  /** Build and reload messages. */
  log?: (line: string) => void;
  /** Each line a function prints on stdout/stderr. */
  output?: (functionId: string, line: string) => void;
  /**
   * Most sandboxes of a function without ReservedConcurrentExecutions (default 10); further
   * invocations wait for one (Lambda would scale on: this is the machine's limit).
   */
  defaultConcurrency?: number;
  /** Shorter (or longer) Timeouts than the template's, in seconds, by function logical id. */
  timeouts?: Record<string, number>;
}

export const DEFAULT_CONCURRENCY = 10;
const INIT_TIMEOUT_MS = 10_000;

const fail = (errorType: string, errorMessage: string): FunctionError => ({ errorType, errorMessage });

type Reply = FromWorker & { type: 'result' };

/** One worker thread: a Lambda execution environment for one function, one invocation at a time. */
class Sandbox {
  readonly worker: Worker;
  readonly ready: Promise<{ ok: true; initMs: number } | { ok: false; error: FunctionError }>;
  private pending?: { id: number; reply: (message: Reply) => void };
  private nextId = 1;
  private crash?: FunctionError;
  exited = false;
  /** Init finished (a warm sandbox); an invocation that has to wait for init is a cold start. */
  initialized = false;

  constructor(
    spec: FunctionSpec,
    handlerFile: string,
    runtimeFile: string,
    output: (line: string) => void,
    readonly generation: number,
  ) {
    const data: WorkerData = {
      handlerFile,
      exportName: spec.model.exportName,
      functionName: spec.functionName,
      memorySize: spec.model.memorySize,
    };
    this.worker = new Worker(runtimeFile, {
      workerData: data,
      env: spec.env,
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, spec.model.memorySize) },
    });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) output(line);
      });
    }
    this.ready = new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            ok: false,
            error: fail('Runtime.InitTimeout', `Init did not finish in ${INIT_TIMEOUT_MS} ms`),
          }),
        INIT_TIMEOUT_MS,
      );
      const settle = (value: { ok: true; initMs: number } | { ok: false; error: FunctionError }) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.worker.on('message', (message: FromWorker) => {
        if (message.type === 'init') {
          this.initialized = message.ok;
          settle(message.ok ? { ok: true, initMs: message.initMs } : message);
        } else if (this.pending?.id === message.id) this.pending.reply(message);
      });
      this.worker.once('exit', (code) => {
        this.exited = true;
        const error = this.crash ?? fail('Runtime.ExitError', `Runtime exited with exit code ${code}`);
        settle({ ok: false, error });
        this.pending?.reply({ type: 'result', id: this.pending.id, ok: false, error });
      });
    });
    this.worker.on('error', (error) => {
      this.crash = fail('Runtime.ExitError', `Runtime exited with error: ${error.name}: ${error.message}`);
      this.crash.trace = (error.stack ?? '').split('\n');
    });
  }

  /** Runs one invocation (the sandbox must be free). */
  run(event: unknown, requestId: string, deadline: number): Promise<Reply> {
    const id = this.nextId++;
    return new Promise<Reply>((resolve) => {
      if (this.exited) {
        resolve({
          type: 'result',
          id,
          ok: false,
          error: this.crash ?? fail('Runtime.ExitError', 'Runtime exited'),
        });
        return;
      }
      this.pending = {
        id,
        reply: (message) => {
          this.pending = undefined;
          resolve(message);
        },
      };
      const message: ToWorker = { type: 'invoke', id, requestId, event, deadline };
      this.worker.postMessage(message);
    });
  }

  /** Terminates the worker now: whatever it was running stops mid-way. */
  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}

/** A function's sandboxes: reused while warm, started on demand up to the concurrency limit. */
class FunctionHost {
  private readonly idle: Sandbox[] = [];
  private readonly all = new Set<Sandbox>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private generation = 0;
  private stopped = false;
  readonly counts = { peakConcurrency: 0, coldStarts: 0, throttles: 0 };

  constructor(
    readonly model: FunctionModel,
    private readonly configure: LocalFunctionsOptions['configure'],
    private readonly handlerFile: string,
    private readonly runtimeFile: string,
    private readonly output: (line: string) => void,
    /** How many invocations may run at once; `throttle`: refuse beyond it (reserved concurrency). */
    private readonly limit: { max: number; throttle: boolean },
    private readonly timeoutSeconds: number,
  ) {}

  get stats(): FunctionStats {
    return { ...this.counts, sandboxes: [...this.all].filter((s) => !s.exited).length, busy: this.running };
  }

  private start(): Sandbox {
    const spec = { model: this.model, ...this.configure(this.model) };
    const sandbox = new Sandbox(spec, this.handlerFile, this.runtimeFile, this.output, this.generation);
    this.all.add(sandbox);
    sandbox.worker.once('exit', () => this.all.delete(sandbox));
    this.counts.coldStarts++;
    return sandbox;
  }

  /** A free sandbox for one invocation: a warm one, a new one, or none (throttled). */
  private async acquire(): Promise<Sandbox | 'throttled' | 'stopped'> {
    for (;;) {
      if (this.stopped) return 'stopped';
      let warm = this.idle.pop();
      while (warm && (warm.exited || warm.generation !== this.generation)) {
        void warm.terminate();
        warm = this.idle.pop();
      }
      if (warm || this.running < this.limit.max) {
        const sandbox = warm ?? this.start(); // start() throws when the function cannot be configured
        this.running++;
        this.counts.peakConcurrency = Math.max(this.counts.peakConcurrency, this.running);
        return sandbox;
      }
      if (this.limit.throttle) return 'throttled';
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(sandbox: Sandbox): void {
    this.running--;
    if (sandbox.exited || sandbox.generation !== this.generation || this.stopped) void sandbox.terminate();
    else this.idle.push(sandbox);
    this.waiting.shift()?.();
  }

  /** The next invocations get fresh sandboxes (cold starts); busy ones finish their invocation first. */
  recycle(): void {
    this.generation++;
    for (const sandbox of this.idle.splice(0)) void sandbox.terminate();
  }

  /**
   * Ends idle sandboxes but the `keep` used last, as Lambda reclaims those left unused; busy
   * ones are left alone.
   */
  async reclaimIdle(keep = 0): Promise<void> {
    const unused = this.idle.splice(0, Math.max(0, this.idle.length - keep));
    await Promise.all(unused.map((sandbox) => sandbox.terminate()));
  }

  async invoke(event: unknown, options: InvokeOptions = {}): Promise<InvokeOutcome> {
    const requestId = randomUUID();
    const started = Date.now();
    const sandbox = await this.acquire();
    if (sandbox === 'throttled' || sandbox === 'stopped') {
      if (sandbox === 'throttled') this.counts.throttles++;
      const error =
        sandbox === 'throttled'
          ? fail('TooManyRequestsException', 'Rate Exceeded.')
          : fail('Runtime.ExitError', 'The local stack is stopping');
      return {
        ok: false,
        error,
        requestId,
        durationMs: Date.now() - started,
        ...(sandbox === 'throttled' ? { throttled: true as const } : {}),
      };
    }
    try {
      const cold = !sandbox.initialized;
      const init = await sandbox.ready;
      const initMs = cold && init.ok ? { initMs: init.initMs } : {};
      if (!init.ok) {
        void sandbox.terminate();
        return { ok: false, error: init.error, requestId, durationMs: Date.now() - started };
      }
      const timeoutMs = this.timeoutSeconds * 1000;
      const done = sandbox.run(event, requestId, Date.now() + timeoutMs);
      const timers: NodeJS.Timeout[] = [];
      const timedOut = new Promise<'timeout'>((resolve) => {
        timers.push(setTimeout(() => resolve('timeout'), timeoutMs));
      });
      if (options.crashAfterMs !== undefined) {
        timers.push(setTimeout(() => void sandbox.terminate(), options.crashAfterMs));
      }
      const message = await Promise.race([done, timedOut]);
      for (const timer of timers) clearTimeout(timer);
      const durationMs = Date.now() - started;
      if (message === 'timeout') {
        // As Lambda does at the Timeout: the environment is stopped, whatever it was doing.
        await sandbox.terminate();
        const seconds = this.timeoutSeconds.toFixed(2);
        const error = fail('Sandbox.Timedout', `Task timed out after ${seconds} seconds`);
        return { ok: false, error, requestId, durationMs, ...initMs };
      }
      if (!message.ok) return { ok: false, error: message.error, requestId, durationMs, ...initMs };
      return { ok: true, result: JSON.parse(message.payload) as unknown, requestId, durationMs, ...initMs };
    } finally {
      this.release(sandbox);
    }
  }

  /** Starts one sandbox ahead of the first invocation (when none is warm). */
  async warm(): Promise<void> {
    if (this.idle.length > 0 || this.running > 0 || this.limit.max === 0) return;
    const sandbox = this.start();
    this.idle.push(sandbox);
    await sandbox.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all([...this.all].map((sandbox) => sandbox.terminate()));
    this.idle.length = 0;
  }
}

function hashFile(file: string): string {
  return existsSync(file) ? createHash('sha1').update(readFileSync(file)).digest('hex') : '';
}

export class LocalFunctions {
  private constructor(
    private readonly hosts: Map<string, FunctionHost>,
    private readonly contexts: esbuild.BuildContext[],
    private readonly buildDir: string,
  ) {}

  static async start(options: LocalFunctionsOptions): Promise<LocalFunctions> {
    const log = options.log ?? (() => undefined);
    const output = options.output ?? (() => undefined);
    const buildDir = options.buildDir;
    mkdirSync(buildDir, { recursive: true });

    const runtimeFile = path.join(buildDir, 'function-worker.js');
    await esbuild.build({
      entryPoints: [path.join(__dirname, 'function-worker.ts')],
      outfile: runtimeFile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      logLevel: 'silent',
    });

    const hosts = new Map<string, FunctionHost>();
    const hashes = new Map<string, string>();
    const outDir = path.join(buildDir, 'functions');
    const fileOf = (id: string) => path.join(outDir, `${id}.js`);
    const timeouts = options.timeouts ?? {};
    for (const [id, seconds] of Object.entries(timeouts)) {
      if (!options.functions.some((m) => m.logicalId === id))
        throw new Error(`functionTimeouts: no function ${id}`);
      if (!(seconds > 0)) throw new Error(`functionTimeouts.${id}: not a positive number of seconds`);
    }
    const defaultConcurrency = options.defaultConcurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(defaultConcurrency) || defaultConcurrency < 1) {
      throw new Error(`defaultConcurrency: not a positive integer (${defaultConcurrency})`);
    }
    for (const model of options.functions) {
      if (model.build.format !== 'cjs') {
        throw new Error(`${model.logicalId}: only BuildProperties Format cjs runs locally`);
      }
      const id = model.logicalId;
      const reserved = model.reservedConcurrency;
      const limit =
        reserved === undefined
          ? { max: defaultConcurrency, throttle: false }
          : { max: reserved, throttle: true };
      hosts.set(
        id,
        new FunctionHost(
          model,
          options.configure,
          fileOf(id),
          runtimeFile,
          (line) => output(id, line),
          limit,
          timeouts[id] ?? model.timeoutSeconds,
        ),
      );
    }

    // One esbuild build per distinct set of build settings (in this template: one for all).
    const groups = new Map<string, FunctionModel[]>();
    for (const model of options.functions) {
      const key = JSON.stringify(model.build);
      groups.set(key, [...(groups.get(key) ?? []), model]);
    }
    const contexts: esbuild.BuildContext[] = [];
    let firstBuild = true;
    const onEnd = (models: FunctionModel[]) => async (result: esbuild.BuildResult) => {
      if (result.errors.length > 0) {
        const text = await esbuild.formatMessages(result.errors, { kind: 'error', color: false });
        log(`build failed; the functions keep running their previous build:\n${text.join('\n')}`);
        return;
      }
      for (const { logicalId: id } of models) {
        const hash = hashFile(fileOf(id));
        if (hashes.get(id) !== hash && hashes.has(id)) {
          hosts.get(id)?.recycle();
          if (!firstBuild) log(`rebuilt ${id}: the next invocation loads the new code`);
        }
        hashes.set(id, hash);
      }
    };
    for (const models of groups.values()) {
      const { build } = models[0] as FunctionModel;
      const ctx = await esbuild.context({
        absWorkingDir: REPO_ROOT,
        entryPoints: Object.fromEntries(models.map((m) => [m.logicalId, path.join(REPO_ROOT, m.entryPoint)])),
        outdir: outDir,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: build.target,
        sourcemap: build.sourcemap,
        minify: build.minify,
        external: build.external,
        logLevel: 'silent',
        plugins: [{ name: 'local-reload', setup: (b) => b.onEnd(onEnd(models)) }],
      });
      contexts.push(ctx);
      const result = await ctx.rebuild().catch((error: unknown) => {
        void ctx.dispose();
        throw error;
      });
      if (result.errors.length > 0) throw new Error('Building the functions failed (see the errors above).');
    }
    firstBuild = false;
    if (options.watch) {
      for (const ctx of contexts) await ctx.watch();
    } else {
      for (const ctx of contexts.splice(0)) await ctx.dispose();
    }

    return new LocalFunctions(hosts, contexts, buildDir);
  }

  has(logicalId: string): boolean {
    return this.hosts.has(logicalId);
  }

  /**
   * Invokes the function as Lambda would: in a free warm sandbox, a new one (cold start), or
   * throttled / queued at the function's concurrency limit.
   */
  invoke(logicalId: string, event: unknown, options?: InvokeOptions): Promise<InvokeOutcome> {
    const host = this.hosts.get(logicalId);
    if (!host) throw new Error(`No local function ${logicalId}`);
    return host.invoke(event, options);
  }

  /** What the function's sandboxes have done so far. */
  stats(logicalId: string): FunctionStats {
    const host = this.hosts.get(logicalId);
    if (!host) throw new Error(`No local function ${logicalId}`);
    return host.stats;
  }

  /** Ends every function's idle sandboxes but the `keep` it used last. */
  async reclaimIdle(keep = 0): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => host.reclaimIdle(keep)));
  }

  /**
   * Starts one sandbox per function and waits for their init, so the first requests do not
   * pay for all the cold starts. Call once `configure` can answer (endpoints known).
   */
  async warm(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => host.warm()));
  }

  async stop(): Promise<void> {
    for (const ctx of this.contexts.splice(0)) await ctx.dispose();
    await Promise.all([...this.hosts.values()].map((host) => host.stop()));
    rmSync(this.buildDir, { recursive: true, force: true });
  }
}
