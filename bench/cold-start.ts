/**
 * Scenario 3 — cold start. Each function is bundled exactly as `sam build` does from the
 * template's esbuild metadata (minified, sourcemap, @aws-sdk/* external), then loaded by fresh
 * Node processes the way the Lambda runtime does: `require` of the handler module with the SDK
 * resolved through NODE_PATH from the layer. Reports bundle size, the SDK clients the module
 * loads while it initialises (a client required lazily, on first use, is not counted), and the
 * median module-initialisation time; the authorizer in each sign-in mode.
 *
 * It also weighs the logging and metrics choice (docs/operations.md): the same empty handler
 * bundled bare, with the project's logger and EMF metrics (functions/shared/runtime), and with
 * Powertools Logger and Metrics (bundled, as a function would ship them), so the difference is
 * what each costs every cold start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../local/repo-root';
import { loadTemplateModel } from '../local/template/template-model';
import { median, round } from './support/stats';

export interface ObservabilityRow {
  variant: string;
  bundleKb: number;
  initMedianMs: number;
  initP90Ms: number;
  /** Median init minus the bare handler's. */
  costMs: number;
}

export interface ColdStartRow {
  functionId: string;
  bundleKb: number;
  sdkClients: string[];
  initMedianMs: number;
  initP90Ms: number;
  samples: number;
}

/** Where the SDK comes from at run time: the built layer if `sam build` ran, else the same packages from node_modules. */
function layerNodePath(): { nodePath: string; source: string } {
  const built = path.join(REPO_ROOT, '.aws-sam', 'build', 'AwsSdkLayer', 'nodejs', 'node_modules');
  if (existsSync(built)) return { nodePath: built, source: '.aws-sam/build/AwsSdkLayer (sam build output)' };
  return {
    nodePath: path.join(REPO_ROOT, 'node_modules'),
    source: 'node_modules (same pinned SDK versions as the layer)',
  };
}

const LOADER = `
const started = process.hrtime.bigint();
require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const clients = Object.keys(require.cache)
  .map((file) => /@aws-sdk[\\/+]client-([a-z0-9-]+)[\\/]/.exec(file)?.[1])
  .filter(Boolean);
process.stdout.write(JSON.stringify({ ms, clients: [...new Set(clients)] }));
`;

/** Values that satisfy each function's cold-start configuration check; nothing is called. */
const DUMMY_ENV: Record<string, string> = {
  TABLE_NAME: 'bench-table',
  QUEUE_URL: 'https://sqs.eu-north-1.amazonaws.com/123456789012/bench.fifo',
  CONNECTIONS_URL: 'https://abc123.execute-api.eu-north-1.amazonaws.com/dev',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-north-1.amazonaws.com/123456789012/bench-dlq.fifo',
  CHAT_AUTH_TOKEN: 'bench-chat-token-0000',
  ADMIN_AUTH_TOKEN: 'bench-admin-token-0000',
  AWS_REGION: 'eu-north-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  LOG_LEVEL: 'warn',
};

/**
 * The authorizer is measured in each sign-in mode (template.yaml's AuthMode): token mode with
 * the shared tokens, and jwt mode building its aws-jwt-verify verifier (the JWKS is fetched on
 * the first connect, not at init).
 */
const AUTHORIZER_MODES: { suffix: string; env: Record<string, string> }[] = [
  { suffix: '', env: {} },
  {
    suffix: ' (jwt)',
    env: {
      AUTH_MODE: 'jwt',
      JWT_ISSUER: 'https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_bench',
      JWT_AUDIENCE: 'bench-client-id',
    },
  },
];

function measure(
  handlerFile: string,
  outdir: string,
  nodePath: string,
  env: Record<string, string>,
  samples: number,
) {
  const times: number[] = [];
  let clients: string[] = [];
  for (let i = 0; i < samples; i++) {
    const result = spawnSync(process.execPath, ['-e', LOADER, handlerFile], {
      cwd: outdir,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: nodePath, ...DUMMY_ENV, ...env },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`${handlerFile} failed to load: ${result.stderr}`);
    const loaded = JSON.parse(result.stdout) as { ms: number; clients: string[] };
    times.push(loaded.ms);
    clients = loaded.clients;
  }
  return { times, clients };
}

const p90Of = (times: number[]) =>
  [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.9) - 1] ?? Number.NaN;

const RUNTIME = path.join(REPO_ROOT, 'functions', 'shared', 'runtime');
const OBSERVABILITY_VARIANTS: Record<string, string> = {
  'bare handler': `export const handler = async () => ({ statusCode: 200 });`,
  'project logger + EMF metrics': `
    import { createLogger } from ${JSON.stringify(path.join(RUNTIME, 'logger'))};
    import { createMetrics } from ${JSON.stringify(path.join(RUNTIME, 'metrics'))};
    const logger = createLogger('bench');
    const metrics = createMetrics({ service: 'bench' });
    export const handler = async (_event: unknown, context: { awsRequestId: string }) => {
      logger.addContext(context);
      metrics.count('X');
      metrics.flush(context);
      return { statusCode: 200 };
    };`,
  'Powertools Logger + Metrics': `
    import { Logger } from '@aws-lambda-powertools/logger';
    import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
    const logger = new Logger({ serviceName: 'bench' });
    const metrics = new Metrics({ namespace: 'bench', serviceName: 'bench' });
    export const handler = async (_event: unknown, context: never) => {
      logger.addContext(context);
      metrics.addMetric('X', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return { statusCode: 200 };
    };`,
};

/** The init cost of each way of logging and emitting metrics, built as the template builds functions. */
export async function runObservabilityBench(samples: number, outRoot: string): Promise<ObservabilityRow[]> {
  const model = loadTemplateModel();
  const settings = model.functions.FanoutFunction?.build ?? Object.values(model.functions)[0]?.build;
  if (!settings) throw new Error('template.yaml has no function to take build settings from');
  const rows: ObservabilityRow[] = [];
  for (const [variant, source] of Object.entries(OBSERVABILITY_VARIANTS)) {
    const dir = path.join(outRoot, `observability-${rows.length}`);
    await build({
      stdin: { contents: source, loader: 'ts', resolveDir: REPO_ROOT, sourcefile: 'handler.ts' },
      bundle: true,
      platform: 'node',
      format: settings.format,
      target: settings.target,
      minify: settings.minify,
      sourcemap: settings.sourcemap,
      external: settings.external,
      outfile: path.join(dir, 'handler.js'),
      logLevel: 'error',
    });
    const handlerFile = path.join(dir, 'handler.js');
    const { times } = measure(handlerFile, dir, path.join(REPO_ROOT, 'node_modules'), {}, samples);
    const initMedian = median(times);
    rows.push({
      variant,
      bundleKb: round(statSync(handlerFile).size / 1024, 1),
      initMedianMs: round(initMedian, 1),
      initP90Ms: round(p90Of(times), 1),
      costMs: round(initMedian - (rows[0]?.initMedianMs ?? initMedian), 1),
    });
  }
  return rows;
}

export async function runColdStartBench(
  samples: number,
): Promise<{ rows: ColdStartRow[]; layer: string; observability: ObservabilityRow[] }> {
  const model = loadTemplateModel();
  const outRoot = mkdtempSync(path.join(tmpdir(), 'chat-coldstart-'));
  const layer = layerNodePath();
  const rows: ColdStartRow[] = [];
  try {
    for (const fn of Object.values(model.functions)) {
      const outdir = path.join(outRoot, fn.logicalId);
      await build({
        entryPoints: [path.join(REPO_ROOT, fn.entryPoint)],
        bundle: true,
        platform: 'node',
        format: fn.build.format,
        target: fn.build.target,
        minify: fn.build.minify,
        sourcemap: fn.build.sourcemap,
        external: fn.build.external,
        outdir,
        logLevel: 'error',
      });
      const handlerFile = path.join(outdir, 'handler.js');
      const modes =
        fn.logicalId === model.authorizer?.functionId ? AUTHORIZER_MODES : [{ suffix: '', env: {} }];
      for (const mode of modes) {
        const { times, clients } = measure(handlerFile, outdir, layer.nodePath, mode.env, samples);
        rows.push({
          functionId: `${fn.logicalId}${mode.suffix}`,
          bundleKb: round(statSync(handlerFile).size / 1024, 1),
          sdkClients: clients,
          initMedianMs: round(median(times), 1),
          initP90Ms: round(p90Of(times), 1),
          samples,
        });
      }
    }
    const observability = await runObservabilityBench(samples, outRoot);
    return { rows, layer: layer.source, observability };
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}
