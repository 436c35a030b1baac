/**
 * `npm run bench` — every scenario in one run: prints a table per scenario, writes
 * bench/results/latest.json, the charts in bench/charts/ and refreshes BENCHMARKS.md.
 * `npm run bench -- --quick` is the small pass CI runs so the benchmarks keep working (it checks
 * they run, not the figures). `--only fanout,throughput,cost,coldstart,e2e` picks scenarios;
 * `--fanout-processes=N` sets how many fanout processes stand in for parallel invocations
 * (default 4). A partial or quick run does not touch BENCHMARKS.md or the charts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../local/repo-root';
import { loadTemplateModel } from '../local/template/template-model';
import { startLocalAws } from '../tests/support/local-aws';
import { runColdStartBench } from './cold-start';
import { runCostBench } from './cost';
import { runFanoutBench } from './fanout';
import { type BenchResults, renderBenchmarks, renderCharts } from './report';
import { round } from './support/stats';
import { runThroughputBench } from './throughput';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? (onlyArg.split('=')[1] ?? args[args.indexOf(onlyArg) + 1] ?? '').split(',')
  : undefined;
const wanted = (name: string) => !only || only.includes(name);
const processesArg = args.find((a) => a.startsWith('--fanout-processes='));

/** The fanout's posts-in-flight bound as the template deploys it (FANOUT_CONCURRENCY). */
function fanoutConcurrency(): number {
  const fanout = Object.values(loadTemplateModel().functions).find((f) => f.logicalId === 'FanoutFunction');
  return Number(fanout?.environment.FANOUT_CONCURRENCY ?? 64);
}

const load = () => round(os.loadavg()[0] ?? 0, 2);

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
    loads: {},
  };
  const scenario = async <T>(name: string, title: string, run: () => Promise<T>): Promise<T> => {
    console.log(`\n## ${title}`);
    const before = load();
    const since = Date.now();
    const value = await run();
    (results.loads as Record<string, [number, number]>)[name] = [before, load()];
    console.log(`(${name}: ${Math.round((Date.now() - since) / 1000)} s)`);
    return value;
  };
  const concurrency = fanoutConcurrency();
  // The scenarios that need them point their processes at these backends; the e2e scenario's
  // stack brings up its own.
  const aws = await startLocalAws();
  try {
    if (wanted('fanout')) {
      results.fanout = await scenario('fanout', '1. Fanout speed', () =>
        runFanoutBench(aws, {
          oneHopSizes: quick ? [100, 1000] : [100, 1000, 10000],
          slicedSizes: quick ? [2000] : [10000, 100000],
          latencyMs: 20,
          concurrency,
          runs: quick ? 1 : 3,
          processes: processesArg ? Number(processesArg.split('=')[1]) : 4,
          sequentialPosts: quick ? 50 : 250,
          postPathPosts: quick ? 1000 : 10000,
        }),
      );
      console.table(results.fanout.rows);
    }
    if (wanted('throughput')) {
      results.throughput = await scenario('throughput', '2. Room throughput', () =>
        runThroughputBench(aws, {
          members: 1000,
          messages: quick ? 5 : 30,
          latencyMs: 20,
          variants: [
            { variant: `before: SDK client, ${concurrency} in flight`, notifier: 'sdk', concurrency },
            { variant: `after: signed posts, ${concurrency} in flight`, notifier: 'signed', concurrency },
            ...(quick
              ? []
              : [{ variant: 'signed posts, 256 in flight', notifier: 'signed' as const, concurrency: 256 }]),
          ],
        }),
      );
      console.table(results.throughput);
    }
    if (wanted('cost')) {
      results.cost = await scenario('cost', '3. Cost per message', () =>
        runCostBench(aws, {
          sizes: quick
            ? [{ members: 10, messages: 10 }]
            : [
                { members: 10, messages: 60 },
                { members: 100, messages: 40 },
                { members: 1000, messages: 20 },
              ],
          unitSizes: quick
            ? [{ members: 2000, messages: 3 }]
            : [
                { members: 100, messages: 40 },
                { members: 10000, messages: 5 },
              ],
          senders: 10,
          latencyMs: 20,
        }),
      );
      console.table(results.cost.rows.map((r) => ({ ...r, services: JSON.stringify(r.services) })));
      console.table(results.cost.roomUnits);
    }
  } finally {
    await aws.stop();
  }
  if (wanted('coldstart')) {
    results.coldStart = await scenario('coldstart', '4. Cold start', () => runColdStartBench(quick ? 3 : 20));
    console.table(results.coldStart.rows.map((r) => ({ ...r, sdkClients: r.sdkClients.join(' ') })));
    console.table(results.coldStart.observability);
  }
  if (wanted('e2e')) {
    // Loaded only when wanted: it brings up the whole local gateway.
    const { runE2eBench } = await import('./e2e-latency.js');
    results.e2e = await scenario('e2e', '5. End to end on the local gateway', () =>
      runE2eBench(
        quick
          ? { clients: 20, rooms: 4, messagesPerClient: 3, ratePerSecond: 5, singleSenderMessages: 10 }
          : { clients: 200, rooms: 20, messagesPerClient: 10, ratePerSecond: 5, singleSenderMessages: 100 },
      ),
    );
    console.table([
      { ...results.e2e, singleSender: JSON.stringify(results.e2e.singleSender), percentiles: '…' },
    ]);
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);

  const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, quick ? 'quick.json' : only ? 'partial.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(REPO_ROOT, file)} (${results.durationSeconds} s)`);
  if (!quick && !only) {
    const chartsDir = path.join(REPO_ROOT, 'bench', 'charts');
    mkdirSync(chartsDir, { recursive: true });
    for (const [name, svg] of Object.entries(renderCharts(results)))
      writeFileSync(path.join(chartsDir, name), svg);
    writeFileSync(path.join(REPO_ROOT, 'BENCHMARKS.md'), renderBenchmarks(results));
    console.log('BENCHMARKS.md and bench/charts/ refreshed');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
