/** Renders BENCHMARKS.md and its charts from a bench run, with each goal checked against the figures. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../local/repo-root';
import type { ColdStartRow, ObservabilityRow } from './cold-start';
import type { CostResults } from './cost';
import type { E2eRow } from './e2e-types';
import type { FanoutResults, FanoutRow } from './fanout';
import { cdfChart, logLogChart, type Series, stackedBars } from './support/charts';
import { PRICES } from './support/prices';
import type { ThroughputRow } from './throughput';

export interface BenchResults {
  date: string;
  quick: boolean;
  durationSeconds?: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; platform: string; node: string };
  /** 1-minute load average before and after each scenario (the machine is shared). */
  loads?: Record<string, [number, number]>;
  fanout?: FanoutResults;
  throughput?: ThroughputRow[];
  cost?: CostResults;
  coldStart?: { rows: ColdStartRow[]; layer: string; observability?: ObservabilityRow[] };
  e2e?: E2eRow;
}

/** The SDK clients each function may load: what its job needs, nothing more. */
export const EXPECTED_SDK_CLIENTS: Record<string, string[]> = {
  AuthorizerFunction: [],
  DefaultFunction: [],
  ConnectFunction: ['dynamodb'],
  DisconnectFunction: ['dynamodb', 'sqs'],
  EnterRoomFunction: ['dynamodb', 'sqs'],
  ExitRoomFunction: ['dynamodb', 'sqs'],
  SendMessageFunction: ['dynamodb', 'sqs'],
  BroadcastFunction: ['dynamodb', 'sqs'],
  HistoryFunction: ['apigatewaymanagementapi', 'dynamodb'],
  // Posts are signed by the fanout itself; the SDK's management API client loads only with FANOUT_NOTIFIER=sdk.
  FanoutFunction: ['dynamodb', 'sqs'],
};

const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');
const n = (value: number) => value.toLocaleString('en-US');
const usd = (value: number) => `$${value < 0.01 ? value.toPrecision(2) : value.toFixed(value < 1 ? 3 : 2)}`;

/** A Markdown table with padded columns, as Biome formats Markdown (so BENCHMARKS.md passes `biome check`). */
function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows].map((row) => row.map(String));
  const widths = headers.map((_, i) => Math.max(3, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = cells;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const PATH_NAMES: Record<FanoutRow['path'], string> = {
  sdk: 'one hop, SDK client (before)',
  signed: 'one hop, signed posts',
  sliced: 'slices, signed posts',
};

/** The charts, by file name under bench/charts/. */
export function renderCharts(r: BenchResults): Record<string, string> {
  const charts: Record<string, string> = {};
  if (r.fanout) {
    const rows = r.fanout.rows;
    const series: Series[] = [];
    for (const p of ['sdk', 'signed', 'sliced'] as const) {
      const points = rows.filter((x) => x.path === p).map((x) => [x.members, x.wallMs] as [number, number]);
      if (points.length > 0) series.push({ name: PATH_NAMES[p], points });
    }
    const hop = rows.filter((x) => x.path === 'signed');
    const sliced = rows.filter((x) => x.path === 'sliced');
    if (hop.length > 0) {
      series.push({ name: 'ideal, one hop', points: hop.map((x) => [x.members, x.idealMs]), dashed: true });
    }
    if (sliced.length > 0) {
      series.push({ name: 'ideal, slices', points: sliced.map((x) => [x.members, x.idealMs]), dashed: true });
      series.push({
        name: 'CPU floor here, slices',
        points: sliced.map((x) => [x.members, x.cpuFloorMs]),
        dashed: true,
      });
    }
    charts['fanout.svg'] = logLogChart({
      title: `One room message to every member (posts answered after ${rows[0]?.latencyMs ?? 20} ms)`,
      xLabel: 'members in the room',
      yLabel: 'wall time (ms)',
      series,
    });
  }
  if (r.cost) {
    const sizes = [...new Set(r.cost.rows.map((row) => row.members))];
    charts['cost.svg'] = stackedBars({
      title: 'Cost per 1,000 chat messages, by service (USD, us-east-1 on-demand)',
      unit: '$',
      groups: sizes.map((members) => ({
        label: `${n(members)} members`,
        bars:
          r.cost?.rows
            .filter((row) => row.members === members)
            .map((row) => ({ label: row.design, parts: row.services as Record<string, number> })) ?? [],
      })),
    });
  }
  if (r.e2e?.percentiles) {
    charts['e2e-latency.svg'] = cdfChart({
      title: `Send to receive, ${r.e2e.clients} clients in ${r.e2e.rooms} rooms at ${r.e2e.offeredMessagesPerSecond ?? '?'} messages/s`,
      xLabel: 'latency (ms, log scale)',
      percentiles: r.e2e.percentiles,
      marks: [
        { label: 'p50', percentile: 50 },
        { label: 'p99', percentile: 99 },
      ],
    });
  }
  return charts;
}

function fanoutSection(out: string[], f: FanoutResults): void {
  const rows = f.rows;
  const at = (p: FanoutRow['path'], members: number) =>
    rows.find((x) => x.path === p && x.members === members);
  const sdk10k = at('sdk', 10000);
  const signed10k = at('signed', 10000);
  const sliced10k = at('sliced', 10000);
  const sliced100k = at('sliced', 100000);
  out.push('## 1. Fanout speed', '');
  out.push(
    `The real fanout handler delivers one room message; the local \`@connections\` server (its own process) answers each post after ${rows[0]?.latencyMs ?? 20} ms. ` +
      'Each path runs in processes of its own, warm, as Lambda sandboxes: **one hop, SDK client** posts through the SDK’s management API client (`FANOUT_NOTIFIER=sdk`, the design before); ' +
      '**one hop, signed posts** signs each post itself on undici’s keep-alive pool (the default now); **slices** is what the fanout does for rooms over 1,000 members: ' +
      `the sequencer queues the event once per slice of the roster, and ${rows.find((x) => x.path === 'sliced')?.processes ?? '?'} fanout processes polling the queue stand in for parallel invocations. ` +
      'Ideal = latency × ceil(members / (slices × concurrency)); ratio = ideal / wall. CPU per post = the fanout processes’ CPU time / posts. ' +
      'CPU floor = all the CPU the run took on this machine (fanouts and the @connections server) / its cores: no wall time can be lower here. ' +
      'Read and write units: what the fanout’s part of the message cost in DynamoDB (the sequencer and the slices).',
    '',
  );
  out.push(
    table(
      [
        'path',
        'members',
        'slices',
        'wall (ms)',
        'ideal (ms)',
        'ratio',
        'posts/s',
        'CPU per post (ms)',
        'CPU floor (ms)',
        'RRU',
        'WRU',
      ],
      rows.map((x) => [
        PATH_NAMES[x.path],
        n(x.members),
        x.slices,
        x.wallMs,
        x.idealMs,
        x.ratio,
        x.postsPerSecond,
        x.cpuMsPerPost,
        x.cpuFloorMs,
        x.readUnits,
        x.writeUnits,
      ]),
    ),
    '',
    `The public samples’ loop (one awaited post after another): ${f.sequentialMsPerPost} ms per post, so ${n(Math.round(f.sequentialMsPerPost * 10000))} ms for 10,000 members.`,
    '',
    '![Fanout wall time against room size, for each path, with the ideal lines](bench/charts/fanout.svg)',
    '',
  );
  if (f.postPaths.length > 0) {
    out.push(
      '### Posting, option by option',
      '',
      `The ways of posting the issue lists, measured in turn in one process of their own: ${n(f.postPathPosts)} posts each at ${rows[0]?.concurrency ?? 64} in flight to the same server, ` +
        'after a warm-up round of each. CPU per post covers signing, the HTTP exchange and the client’s own overhead (not the fanout’s roster reads).',
      '',
      table(
        ['how', 'CPU per post (ms)', 'posts/s'],
        f.postPaths.map((p) => [p.path, p.cpuMsPerPost, p.postsPerSecond]),
      ),
      '',
    );
  }
  const ratio = sdk10k && signed10k ? sdk10k.cpuMsPerPost / signed10k.cpuMsPerPost : 0;
  out.push(
    `- Goal: CPU per post ≤ 0.15 ms at 10,000 members — ${verdict(signed10k !== undefined && signed10k.cpuMsPerPost <= 0.15)}${signed10k ? ` (${signed10k.cpuMsPerPost} ms)` : ''}.`,
    `- Goal: at least 3× less CPU per post than the SDK command path in the same run — ${verdict(ratio >= 3)}${ratio ? ` (${ratio.toFixed(1)}×: ${sdk10k?.cpuMsPerPost} ms against ${signed10k?.cpuMsPerPost} ms)` : ''}.`,
    `- Goal: 10,000 members in ≤ 1 s — ${verdict(sliced10k !== undefined && sliced10k.wallMs <= 1000)}${sliced10k ? ` (${n(Math.round(sliced10k.wallMs))} ms; CPU floor on this machine ${n(Math.round(sliced10k.cpuFloorMs))} ms)` : ''}.`,
    `- Goal: 100,000 members in ≤ 5 s — ${verdict(sliced100k !== undefined && sliced100k.wallMs <= 5000)}${sliced100k ? ` (${n(Math.round(sliced100k.wallMs))} ms; CPU floor on this machine ${n(Math.round(sliced100k.cpuFloorMs))} ms)` : ''}.`,
    '',
  );
}

function throughputSection(out: string[], rows: ThroughputRow[]): void {
  const before = rows.find((x) => x.notifier === 'sdk');
  const after = rows.find((x) => x.notifier === 'signed');
  out.push('## 2. Room throughput', '');
  out.push(
    `One room of ${n(rows[0]?.members ?? 1000)} members, ${rows[0]?.messages ?? '?'} messages queued at once into its FIFO group, every message delivered to everyone ` +
      '(posts answered after 20 ms). A room’s events are one FIFO group, handled one at a time: each waits for the previous one’s posts. ' +
      'A fanout process polls the queue as the event source does. Ideal per message = latency × ceil(members / concurrency).',
    '',
    table(
      ['variant', 'posts in flight', 'messages/s', 'ms per message', 'ideal ms per message'],
      rows.map((x) => [x.variant, x.concurrency, x.messagesPerSecond, x.msPerMessage, x.idealMsPerMessage]),
    ),
    '',
  );
  if (before && after) {
    out.push(
      `Before: ${before.messagesPerSecond} messages/s; after: ${after.messagesPerSecond} messages/s (${(after.messagesPerSecond / before.messagesPerSecond).toFixed(1)}×).`,
      '',
    );
  }
}

function costSection(out: string[], c: CostResults): void {
  out.push('## 3. What a message costs on AWS', '');
  out.push(
    'The whole chat on the local stack (the template’s functions, the gateway, the event source), with DynamoDB behind a metering proxy, an SQS emulator that counts, and the posts going to the @connections server (20 ms a post). ' +
      'A room’s members send messages; every request they cause is counted and priced per 1,000 messages. The AWS sample’s design (one table of connections Scanned for every message, posts one after another from the route’s Lambda, no queue) is measured the same way on DynamoDB Local and the same server; AppSync Events is priced from its public pricing for the same traffic.',
    '',
    `Prices (${PRICES.region}, on-demand, first tier, as of ${PRICES.asOf}; ${PRICES.sources.map((s) => `<${s}>`).join(', ')}):`,
    '',
    table(
      ['service', 'price'],
      [
        [
          'API Gateway WebSocket',
          `$${PRICES.apiGateway.perMillionMessages} per million messages (32 KB units), $${PRICES.apiGateway.perMillionConnectionMinutes} per million connection minutes`,
        ],
        [
          'Lambda',
          `$${PRICES.lambda.perMillionRequests} per million requests, $${PRICES.lambda.perGbSecondArm} per GB-s (arm64), $${PRICES.lambda.perGbSecondX86} (x86_64)`,
        ],
        ['SQS FIFO', `$${PRICES.sqs.perMillionFifoRequests} per million requests (64 KB units)`],
        [
          'DynamoDB on-demand',
          `$${PRICES.dynamodb.perMillionWriteUnits} per million write units, $${PRICES.dynamodb.perMillionReadUnits} per million read units`,
        ],
        [
          'AppSync Events',
          `$${PRICES.appSyncEvents.perMillionOperations} per million operations, $${PRICES.appSyncEvents.perMillionConnectionMinutes} per million connection minutes`,
        ],
      ],
    ),
    '',
  );
  const services = ['API Gateway', 'Lambda', 'SQS', 'DynamoDB', 'AppSync Events'] as const;
  out.push(
    table(
      ['members', 'design', ...services, 'of which connection minutes', 'total per 1,000 messages'],
      c.rows.map((row) => [
        n(row.members),
        row.design,
        ...services.map((s) => (row.services[s] === undefined ? '—' : usd(row.services[s] as number))),
        usd(row.connectionMinutes),
        `**${usd(row.total)}**`,
      ]),
    ),
    '',
    '![Cost per 1,000 messages by service, for each design and room size](bench/charts/cost.svg)',
    '',
    'Assumptions:',
    '',
    ...c.assumptions.map((a) => `- ${a}.`),
    '',
  );
  const traffic = c.traffic;
  out.push(
    'What was counted, per message:',
    '',
    table(
      [
        'members',
        'delivery',
        'API Gateway in + out',
        'Lambda invocations',
        'Lambda GB-s',
        'SQS requests',
        'DynamoDB RRU',
        'DynamoDB WRU',
      ],
      traffic.map((t) => {
        const fns = Object.values(t.lambda);
        const gbs = fns.reduce((sum, f) => sum + (f.billedMs / 1000) * (f.memoryMb / 1024), 0) / t.messages;
        return [
          n(t.members),
          t.delivery,
          `${(t.apiMessagesIn / t.messages).toFixed(0)} + ${n(Math.round(t.apiMessagesOut / t.messages))}`,
          (fns.reduce((sum, f) => sum + f.invocations, 0) / t.messages).toFixed(1),
          gbs.toFixed(3),
          ((t.sqsFunctionRequests + t.sqsEventSourceRequests) / t.messages).toFixed(1),
          (t.dynamodb.readUnits / t.messages).toFixed(1),
          (t.dynamodb.writeUnits / t.messages).toFixed(2),
        ];
      }),
    ),
    '',
    'The AWS sample, per message: ' +
      c.sample
        .map(
          (s) =>
            `${n(s.members)} members: a Scan of ${s.scanReadUnits} RRU and ${n(Math.round(s.lambdaMs))} ms of Lambda`,
        )
        .join('; ') +
      '.',
    '',
  );
  out.push('### DynamoDB units per delivered room message', '');
  out.push(
    'Read and write request units one room message costs, everything included (the send route’s entry read and rate-limit update, the fanout’s sender check, log append and roster or slice reads), ' +
      'delivered in one hop (the design before slices) and in slices. Each room shares its table with the scenario’s other rooms (“other members”).',
    '',
    table(
      [
        'members',
        'other members in the table',
        'delivery',
        'WRU per message',
        'RRU per message',
        'requests per message',
      ],
      c.roomUnits.map((u) => [
        n(u.members),
        n(u.otherMembers),
        u.delivery,
        u.writeUnitsPerMessage,
        u.readUnitsPerMessage,
        u.requestsPerMessage,
      ]),
    ),
    '',
  );
  const worst = Math.max(...c.roomUnits.map((u) => u.writeUnitsPerMessage));
  const first = c.roomUnits[0];
  const small = c.roomUnits.filter((u) => u.members === first?.members && u.delivery === 'one hop');
  const same =
    small.length > 1 &&
    small.every(
      (u) =>
        u.writeUnitsPerMessage === first?.writeUnitsPerMessage &&
        Math.abs(u.readUnitsPerMessage - (first?.readUnitsPerMessage ?? 0)) <= 0.5,
    );
  const detail = small
    .map(
      (u) =>
        `${u.writeUnitsPerMessage} WRU and ${u.readUnitsPerMessage} RRU with ${n(u.otherMembers)} other members`,
    )
    .join('; ');
  out.push(
    `- Goal: at most 2 WCU per room message, besides the room read — ${verdict(worst <= 2)} (at most ${worst}).`,
    `- Goal: the per-message cost independent of the number of rooms and connections — ${verdict(same)}${small.length > 1 ? ` (a room of ${n(first?.members ?? 0)}: ${detail})` : ''}.`,
    '',
  );
}

function coldStartSection(out: string[], cold: NonNullable<BenchResults['coldStart']>): void {
  const rows = cold.rows;
  const extra = rows.filter((c) =>
    c.sdkClients.some((s) => !(EXPECTED_SDK_CLIENTS[c.functionId] ?? []).includes(s)),
  );
  out.push('## 4. Cold start', '');
  out.push(
    'Each function bundled as `sam build` does from the template metadata (esbuild, minified, `@aws-sdk/*` external), then ' +
      `\`require\`d by ${rows[0]?.samples ?? '?'} fresh Node processes with NODE_PATH at the SDK layer (${cold.layer}). ` +
      'Init = time to load and initialise the handler module (clients built, config validated), as the Lambda runtime does before the first invocation. ' +
      'Lambda CPUs are slower than this machine at small memory sizes; compare functions with each other, and expect Lambda figures to be higher.',
    '',
    table(
      ['function', 'bundle (KB)', 'SDK clients loaded', 'init median (ms)', 'init p90 (ms)'],
      rows.map((c) => [
        c.functionId,
        c.bundleKb,
        c.sdkClients.join(', ') || '—',
        c.initMedianMs,
        c.initP90Ms,
      ]),
    ),
    '',
    `- Goal: every function ≤ 80 ms init — ${verdict(rows.every((c) => c.initMedianMs <= 80))}.`,
    `- Goal: no function carries SDK clients it does not use — ${verdict(extra.length === 0)}${extra.length ? ` (${extra.map((e) => e.functionId).join(', ')})` : ''}.`,
    '',
  );
  const observability = cold.observability ?? [];
  if (observability.length > 0) {
    out.push(
      '### Logger and metrics',
      '',
      'The same handler bundled bare, with the project’s logger and EMF metrics, and with Powertools Logger and Metrics (bundled); cost = median init minus the bare handler’s (docs/operations.md).',
      '',
      table(
        ['variant', 'bundle (KB)', 'init median (ms)', 'init p90 (ms)', 'cost (ms)'],
        observability.map((o) => [o.variant, o.bundleKb, o.initMedianMs, o.initP90Ms, o.costMs]),
      ),
      '',
    );
  }
}

function e2eSection(out: string[], e: E2eRow, cost?: CostResults): void {
  out.push('## 5. End to end on the local gateway, under load', '');
  out.push(
    `${e.clients} real WebSocket clients in ${e.rooms} rooms, each sending ${e.messages / e.clients} messages at 5/s through ` +
      '`npm start`’s stack (gateway, the real handlers in their local sandboxes, DynamoDB Local, the SQS emulator and the event source). ' +
      'Latency is from just before a client sends to when each room member (the sender included) receives the room’s copy.',
    '',
    table(
      [
        'messages',
        'refused',
        'deliveries expected',
        'delivered',
        'lost',
        'duplicated',
        'p50 (ms)',
        'p95 (ms)',
        'p99 (ms)',
        'max (ms)',
        'deliveries/s',
      ],
      [
        [
          e.messages,
          Object.entries(e.refused ?? {})
            .map(([code, count]) => `${count} ${code}`)
            .join(', ') || 0,
          e.expectedDeliveries,
          e.delivered,
          e.lost,
          e.duplicated,
          e.p50Ms,
          e.p95Ms,
          e.p99Ms,
          e.maxMs,
          e.deliveriesPerSecond,
        ],
      ],
    ),
    '',
    'Refused: messages the send route answered with an error (the sender was told; nothing was queued). Lost: deliveries of accepted messages that never arrived.',
    '',
  );
  if (e.percentiles)
    out.push('![Latency distribution of the loaded scenario](bench/charts/e2e-latency.svg)', '');
  if (e.singleSender) {
    const s = e.singleSender;
    out.push(
      `Unloaded, on the same stack right after: one client alone in a room (clients take turns, 25 messages each, under the rate limit), ${s.messages} messages each sent once the previous came back: ` +
        `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms (the per-hop floor of the local stack; not the goal's scenario).`,
      '',
    );
  }
  // The e2e rooms' size; its DynamoDB requests per message as the cost scenario counted them.
  const roomSize = e.clients / e.rooms;
  const counted = cost?.traffic.find((t) => t.members === roomSize) ?? cost?.traffic[0];
  const perMessage = counted
    ? Number(
        (Object.values(counted.dynamodb.requests).reduce((a, b) => a + b, 0) / counted.messages).toFixed(1),
      )
    : undefined;
  if (e.dynamoDbCeiling && e.offeredMessagesPerSecond) {
    const offered = perMessage ? Math.round(e.offeredMessagesPerSecond * perMessage) : undefined;
    out.push(
      `DynamoDB Local’s own ceiling on this machine, measured on the same instance right after (${e.dynamoDbCeiling.concurrency} requests in flight, the message path’s kinds of request, nothing else running): ` +
        `**${n(e.dynamoDbCeiling.requestsPerSecond)} requests/s**. ` +
        (offered
          ? `The scenario offers ${n(e.offeredMessagesPerSecond)} messages/s × ${perMessage} DynamoDB requests per message (a room of ${counted?.members}, section 3) = ${n(offered)} requests/s: ${(offered / e.dynamoDbCeiling.requestsPerSecond).toFixed(1)}× the ceiling.`
          : ''),
      '',
    );
  }
  out.push(
    `- Goal: 0 lost — ${verdict(e.lost === 0)}.`,
    `- Goal: p99 under 100 ms — ${verdict(e.p99Ms < 100)}.`,
    `- Goal: p50 under 20 ms — ${verdict(e.p50Ms < 20)}.`,
    '',
  );
}

export function renderBenchmarks(r: BenchResults): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  const loads = Object.entries(r.loads ?? {})
    .map(([name, [before, after]]) => `${name} ${before} → ${after}`)
    .join(', ');
  out.push(
    `Generated by \`npm run bench\` on ${r.date.slice(0, 10)} in ${r.durationSeconds ?? '?'} s. ` +
      'Re-run it to refresh this file and its charts; the raw figures are in `bench/results/latest.json`.',
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.platform}; Node ${r.machine.node}. ` +
      'Everything runs on this one machine: DynamoDB Local (Java), the SQS emulator, the local gateway, the fanout processes, the @connections server and the clients share its cores.' +
      (loads ? ` Load average (1 min) before → after each scenario: ${loads}.` : ''),
    '',
  );
  if (r.fanout) fanoutSection(out, r.fanout);
  if (r.throughput) throughputSection(out, r.throughput);
  if (r.cost) costSection(out, r.cost);
  if (r.coldStart) coldStartSection(out, r.coldStart);
  if (r.e2e) e2eSection(out, r.e2e, r.cost);

  const analysis = path.join(REPO_ROOT, 'bench', 'analysis.md');
  if (existsSync(analysis)) out.push(readFileSync(analysis, 'utf8').trim(), '');
  out.push(
    '## Reproduce',
    '',
    '```',
    'npm ci',
    'npm run bench             # every scenario, ~10 min; refreshes this file and bench/charts/',
    'npm run bench -- --quick  # small pass (CI runs it)',
    'npm run bench -- --only=fanout,throughput,cost,coldstart,e2e',
    '```',
    '',
  );
  return out.join('\n');
}
