/**
 * Scenario 3 — cold start. Each function is bundled exactly as `sam build` does from the
 * template's esbuild metadata (minified, sourcemap, @aws-sdk/* external), then loaded by fresh
 * Node processes the way the Lambda runtime does: `require` of the handler module with the SDK
 * resolved through NODE_PATH from the layer. Reports bundle size, the SDK clients each bundle
 * pulls in, and the median module-initialisation time.
 *
 * It also weighs the logging and metrics choice (docs/operations.md): the same empty handler
 * bundled bare, with the project's logger and EMF metrics (functions/shared/runtime), and with
 * Powertools Logger and Metrics (bundled, as a function would ship them), so the difference is
 * what each costs every cold start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { loadTemplateModel, REPO_ROOT } from '../local/template-model';
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
process.stdout.write(JSON.stringify({ ms }));
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

/** Median and p90 of `samples` fresh-process loads of a bundled handler file. */
function measureInit(
  handlerFile: string,
  samples: number,
  nodePath: string,
): { median: number; p90: number } {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const result = spawnSync(process.execPath, ['-e', LOADER, handlerFile], {
      cwd: path.dirname(handlerFile),
      env: { PATH: process.env.PATH ?? '', NODE_PATH: nodePath, ...DUMMY_ENV },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`${handlerFile} failed to load: ${result.stderr}`);
    times.push((JSON.parse(result.stdout) as { ms: number }).ms);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { median: median(times), p90: sorted[Math.ceil(sorted.length * 0.9) - 1] ?? Number.NaN };
}

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
    const { median: initMedian, p90 } = measureInit(
      handlerFile,
      samples,
      path.join(REPO_ROOT, 'node_modules'),
    );
    rows.push({
      variant,
      bundleKb: round(statSync(handlerFile).size / 1024, 1),
      initMedianMs: round(initMedian, 1),
      initP90Ms: round(p90, 1),
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
      const code = readFileSync(handlerFile, 'utf8');
      const sdkClients = [
        ...new Set([...code.matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1] as string)),
      ];
      const { median: initMedian, p90 } = measureInit(handlerFile, samples, layer.nodePath);
      rows.push({
        functionId: fn.logicalId,
        bundleKb: round(statSync(handlerFile).size / 1024, 1),
        sdkClients: sdkClients.map((c) => c.replace('@aws-sdk/client-', '')),
        initMedianMs: round(initMedian, 1),
        initP90Ms: round(p90, 1),
        samples,
      });
    }
    const observability = await runObservabilityBench(samples, outRoot);
    return { rows, layer: layer.source, observability };
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}
