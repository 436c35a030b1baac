/**
 * Runs the template's functions locally, Docker-free: each function's entry point is bundled
 * with esbuild using the template's BuildProperties (format, target, sourcemap, minify,
 * External `@aws-sdk/*` resolved from the repository's node_modules, as the SDK layer
 * provides it in AWS), then loaded into its own worker thread, the local "sandbox": its own
 * `process.env` (the function's environment only), its own module state (cold start), a
 * heap limit of MemorySize, and the function's Timeout. A crash or timeout discards the
 * sandbox and the next invocation starts a fresh one, as Lambda does.
 *
 * `start` only builds; sandboxes start on `warm()` or on a function's first invocation.
 * With `watch`, esbuild rebuilds on source changes and the functions whose bundle changed
 * get a fresh sandbox for their next invocation: edits take effect without a restart.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as esbuild from 'esbuild';
import type { FromWorker, FunctionError, ToWorker, WorkerData } from './function-worker';
import { type FunctionModel, REPO_ROOT } from './template-model';

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
} & ({ ok: true; result: unknown } | { ok: false; error: FunctionError });

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
}

const INIT_TIMEOUT_MS = 10_000;

const fail = (errorType: string, errorMessage: string): FunctionError => ({ errorType, errorMessage });

/** One worker thread: a warm Lambda execution environment for one function. */
class Sandbox {
  readonly worker: Worker;
  readonly ready: Promise<{ ok: true; initMs: number } | { ok: false; error: FunctionError }>;
  private readonly pending = new Map<number, (message: FromWorker & { type: 'result' }) => void>();
  private nextId = 1;
  private crash?: FunctionError;
  private retiring = false;
  exited = false;
  /** Init finished (a warm sandbox); an invocation that has to wait for init is a cold start. */
  initialized = false;

  constructor(spec: FunctionSpec, handlerFile: string, runtimeFile: string, output: (line: string) => void) {
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
        } else this.pending.get(message.id)?.(message);
      });
      this.worker.once('exit', (code) => {
        this.exited = true;
        const error = this.crash ?? fail('Runtime.ExitError', `Runtime exited with exit code ${code}`);
        settle({ ok: false, error });
        for (const [id, reply] of this.pending) reply({ type: 'result', id, ok: false, error });
        this.pending.clear();
      });
    });
    this.worker.on('error', (error) => {
      this.crash = fail('Runtime.ExitError', `Runtime exited with error: ${error.name}: ${error.message}`);
      this.crash.trace = (error.stack ?? '').split('\n');
    });
  }

  invoke(
    event: unknown,
    requestId: string,
    deadline: number,
  ): { id: number; done: Promise<FromWorker & { type: 'result' }> } {
    const id = this.nextId++;
    const done = new Promise<FromWorker & { type: 'result' }>((resolve) => {
      if (this.exited) {
        resolve({
          type: 'result',
          id,
          ok: false,
          error: this.crash ?? fail('Runtime.ExitError', 'Runtime exited'),
        });
        return;
      }
      this.pending.set(id, (message) => {
        this.pending.delete(id);
        resolve(message);
        if (this.retiring && this.pending.size === 0) void this.terminate();
      });
      const message: ToWorker = { type: 'invoke', id, requestId, event, deadline };
      this.worker.postMessage(message);
    });
    return { id, done };
  }

  /** Forgets an invocation that timed out: its sandbox is being retired anyway. */
  abandon(id: number): void {
    this.pending.delete(id);
    if (this.retiring && this.pending.size === 0) void this.terminate();
  }

  /** No new work; terminated once the invocations still running have finished. */
  retire(): void {
    this.retiring = true;
    if (this.pending.size === 0) void this.terminate();
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}

class FunctionHost {
  private current?: Sandbox;
  private readonly all = new Set<Sandbox>();

  constructor(
    readonly model: FunctionModel,
    private readonly configure: LocalFunctionsOptions['configure'],
    private readonly handlerFile: string,
    private readonly runtimeFile: string,
    private readonly output: (line: string) => void,
  ) {}

  sandbox(): Sandbox {
    if (!this.current || this.current.exited) {
      const spec = { model: this.model, ...this.configure(this.model) };
      const sandbox = new Sandbox(spec, this.handlerFile, this.runtimeFile, this.output);
      this.all.add(sandbox);
      sandbox.worker.once('exit', () => this.all.delete(sandbox));
      this.current = sandbox;
    }
    return this.current;
  }

  /** The next invocation gets a fresh sandbox (cold start); the old one finishes its work. */
  recycle(): void {
    this.current?.retire();
    this.current = undefined;
  }

  /** Fault switch: the sandbox dies now, failing every invocation running in it. */
  crash(): void {
    void this.current?.terminate();
    this.current = undefined;
  }

  async invoke(event: unknown): Promise<InvokeOutcome> {
    const requestId = randomUUID();
    const started = Date.now();
    const sandbox = this.sandbox();
    const cold = !sandbox.initialized;
    const init = await sandbox.ready;
    const initMs = cold && init.ok ? { initMs: init.initMs } : {};
    if (!init.ok) {
      if (this.current === sandbox) this.recycle();
      return { ok: false, error: init.error, requestId, durationMs: Date.now() - started };
    }
    const timeoutMs = this.model.timeoutSeconds * 1000;
    const { id, done } = sandbox.invoke(event, requestId, Date.now() + timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const message = await Promise.race([done, timedOut]);
    clearTimeout(timer);
    const durationMs = Date.now() - started;
    if (message === 'timeout') {
      sandbox.abandon(id);
      if (this.current === sandbox) this.recycle();
      const seconds = this.model.timeoutSeconds.toFixed(2);
      const error = fail('Sandbox.Timedout', `Task timed out after ${seconds} seconds`);
      return { ok: false, error, requestId, durationMs, ...initMs };
    }
    if (!message.ok) return { ok: false, error: message.error, requestId, durationMs, ...initMs };
    return { ok: true, result: JSON.parse(message.payload) as unknown, requestId, durationMs, ...initMs };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all].map((sandbox) => sandbox.terminate()));
    this.current = undefined;
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
    for (const model of options.functions) {
      if (model.build.format !== 'cjs') {
        throw new Error(`${model.logicalId}: only BuildProperties Format cjs runs locally`);
      }
      const id = model.logicalId;
      hosts.set(
        id,
        new FunctionHost(model, options.configure, fileOf(id), runtimeFile, (line) => output(id, line)),
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

  invoke(logicalId: string, event: unknown): Promise<InvokeOutcome> {
    const host = this.hosts.get(logicalId);
    if (!host) throw new Error(`No local function ${logicalId}`);
    return host.invoke(event);
  }

  /** Fault switch: kills the function's current sandbox (every running invocation fails). */
  crash(logicalId: string): void {
    this.hosts.get(logicalId)?.crash();
  }

  /**
   * Starts every function's sandbox and waits for their init, so the first requests do not
   * pay for all the cold starts. Call once `configure` can answer (endpoints known).
   */
  async warm(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => host.sandbox().ready));
  }

  async stop(): Promise<void> {
    for (const ctx of this.contexts.splice(0)) await ctx.dispose();
    await Promise.all([...this.hosts.values()].map((host) => host.stop()));
    rmSync(this.buildDir, { recursive: true, force: true });
  }
}
