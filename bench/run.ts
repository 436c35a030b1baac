/**
 * `npm run bench` — every scenario in one run: prints a table per scenario, writes
 * bench/results/latest.json and refreshes BENCHMARKS.md. `npm run bench -- --quick` is the
 * small pass CI runs so the benchmarks keep working (it checks they run, not the figures).
 * `--only fanout,cost,coldstart,e2e` picks scenarios; `--fanout-concurrency=N` tries another
 * FANOUT_CONCURRENCY than the template's (the figures are then not written to BENCHMARKS.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTemplateModel, REPO_ROOT } from '../local/template-model';
import { startLocalAws } from '../tests/support/local-aws';
import { runColdStartBench } from './cold-start';
import { runCostBench } from './cost';
import { runFanoutBench } from './fanout';
import { type BenchResults, renderBenchmarks } from './report';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? (onlyArg.split('=')[1] ?? args[args.indexOf(onlyArg) + 1] ?? '').split(',')
  : undefined;
const wanted = (name: string) => !only || only.includes(name);
const concurrencyArg = args.find((a) => a.startsWith('--fanout-concurrency='));

/** The fanout's posts-in-flight bound as the template deploys it (FANOUT_CONCURRENCY), unless overridden. */
function fanoutConcurrency(): number {
  if (concurrencyArg) return Number(concurrencyArg.split('=')[1]);
  const fanout = Object.values(loadTemplateModel().functions).find((f) => f.logicalId === 'FanoutFunction');
  return Number(fanout?.environment.FANOUT_CONCURRENCY ?? 64);
}

async function main(): Promise<void> {
  // Node 20 is what this machine has; the SDK's notice about its future Node 22 floor is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const started = Date.now();
  const results: BenchResults = {
    date: new Date().toISOString(),
    quick,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
    },
  };
  // The fanout scenario points the handler environment (AWS_ENDPOINT_URL_*, …) at these
  // backends; the e2e scenario's stack must not inherit that once they are stopped.
  const environment = { ...process.env };
  const aws = await startLocalAws();
  const lap = (name: string, since: number) =>
    console.log(`(${name}: ${Math.round((Date.now() - since) / 1000)} s)`);
  try {
    let scenarioStarted = Date.now();
    if (wanted('fanout')) {
      console.log('\n## 1. Fanout speed');
      results.fanout = await runFanoutBench(aws, {
        sizes: quick ? [100, 1000] : [100, 1000, 10000],
        latencyMs: 20,
        concurrency: fanoutConcurrency(),
        runs: quick ? 1 : 3,
        sequentialMeasuredUpTo: quick ? 100 : 250,
      });
      console.table(results.fanout);
      lap('fanout', scenarioStarted);
    }
    scenarioStarted = Date.now();
    if (wanted('cost')) {
      console.log('\n## 2. DynamoDB cost per message');
      results.cost = await runCostBench(
        aws,
        quick
          ? [
              { rooms: 10, roomSize: 10 },
              { rooms: 100, roomSize: 10 },
            ]
          : [
              { rooms: 100, roomSize: 100 },
              { rooms: 1000, roomSize: 100 },
            ],
      );
      console.table(results.cost);
      lap('cost', scenarioStarted);
    }
  } finally {
    await aws.stop();
    for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
    Object.assign(process.env, environment);
  }
  let scenarioStarted = Date.now();
  if (wanted('coldstart')) {
    console.log('\n## 3. Cold start');
    results.coldStart = await runColdStartBench(quick ? 3 : 20);
    console.table(results.coldStart.rows.map((r) => ({ ...r, sdkClients: r.sdkClients.join(' ') })));
    console.table(results.coldStart.observability);
    lap('cold start', scenarioStarted);
  }
  scenarioStarted = Date.now();
  if (wanted('e2e')) {
    console.log('\n## 4. End to end on the local gateway');
    // Loaded only when wanted: it brings up the whole local gateway.
    const { runE2eBench } = await import('./e2e-latency.js');
    results.e2e = await runE2eBench(
      quick
        ? { clients: 20, rooms: 4, messagesPerClient: 3, ratePerSecond: 5, singleSenderMessages: 10 }
        : { clients: 200, rooms: 20, messagesPerClient: 10, ratePerSecond: 5, singleSenderMessages: 100 },
    );
    console.table([{ ...results.e2e, singleSender: JSON.stringify(results.e2e.singleSender) }]);
    lap('e2e', scenarioStarted);
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);

  const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, quick ? 'quick.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(REPO_ROOT, file)} (${results.durationSeconds} s)`);
  if (!quick && !only && !concurrencyArg) {
    writeFileSync(path.join(REPO_ROOT, 'BENCHMARKS.md'), renderBenchmarks(results));
    console.log('BENCHMARKS.md refreshed');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
