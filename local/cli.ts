/**
 * `npm start`: the whole chat on this machine, ready for wscat and the web page. Options and
 * environment: USAGE below and local/README.md. Ctrl-C (SIGINT) or SIGTERM stops everything
 * within a few seconds, also while starting and whatever the clients do.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_TOKEN_SECONDS } from './auth/issuer';
import { activeFaults, type FaultSettings } from './faults/faults';
import { REPO_ROOT } from './repo-root';
import { DEFAULT_ADMIN_TOKEN, DEFAULT_CHAT_TOKEN, type LocalChat, startLocalChat } from './stack';
import { removeStackFile, STACK_FILE, writeStackFile } from './stack-file';

const USAGE = `Usage: npm start [-- options]

Options:
  --port <n>        Port of the WebSocket, the web page and @connections (default PORT or 3001)
  --persist <dir>   Keep DynamoDB data in <dir> between runs
  --verbose         Show every log line the functions print (default: warnings and errors)
  --faults <json>   Turn on fault switches, e.g. '{"connections":{"failRate":0.2,"failStatus":429}}'
                    (see local/faults/faults.ts)
  --no-watch        Do not rebuild the functions when their sources change
  --auth <mode>     token (default): shared tokens. jwt: per-user JWTs from a local OIDC issuer on
                    loopback (port + 1), as with Amazon Cognito; \`npm run token -- --user <name>\` mints more
  --serial-frames   Handle the frames of one connection one at a time, in order (API Gateway,
                    and the default, handles them concurrently)

Environment: PORT, CHAT_AUTH_MODE, CHAT_AUTH_TOKEN, ADMIN_AUTH_TOKEN, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS`;

function options() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      persist: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      faults: { type: 'string' },
      'no-watch': { type: 'boolean', default: false },
      auth: { type: 'string' },
      'serial-frames': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port ?? process.env.PORT ?? 3001);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`Not a port: ${values.port ?? process.env.PORT}`);
  const auth = values.auth ?? process.env.CHAT_AUTH_MODE ?? 'token';
  if (auth !== 'token' && auth !== 'jwt') throw new Error(`--auth takes token or jwt, not "${auth}"`);
  return {
    port,
    auth: auth as 'token' | 'jwt',
    // The issuer next to the gateway (3002 for 3001), so the page's sign-in address stays the same.
    ...(auth === 'jwt' && port !== 0 && port < 65535 ? { authIssuerPort: port + 1 } : {}),
    ...(values.persist ? { persistDir: path.resolve(values.persist) } : {}),
    chatToken: process.env.CHAT_AUTH_TOKEN || DEFAULT_CHAT_TOKEN,
    adminToken: process.env.ADMIN_AUTH_TOKEN ?? DEFAULT_ADMIN_TOKEN,
    functionLogs: values.verbose ? ('all' as const) : ('errors' as const),
    ...(values.faults ? { faults: JSON.parse(values.faults) as FaultSettings } : {}),
    watch: !values['no-watch'],
    frameOrdering: values['serial-frames'] ? ('serial' as const) : ('concurrent' as const),
  };
}

/** The fault switches that are on, and the fault proxies in the functions' path. */
function faultLines(chat: LocalChat): string[] {
  const active = activeFaults(chat.faults);
  const proxies = [
    ...(chat.dynamoDbFaultProxy ? [`DynamoDB ${chat.dynamoDbFaultProxy.endpoint}`] : []),
    ...(chat.sqsFaultProxy ? [`SQS ${chat.sqsFaultProxy.endpoint}`] : []),
  ];
  if (active.length === 0 && proxies.length === 0) return [];
  return [
    '',
    `  FAULT SWITCHES ON: ${active.length > 0 ? active.join(', ') : 'none yet'}`,
    ...(proxies.length > 0 ? [`  Fault proxies in the functions' path: ${proxies.join(', ')}`] : []),
  ];
}

/** Ready-made users of the local issuer: three users and an admin. */
const LOCAL_USERS = [
  { username: 'Mikki', admin: false },
  { username: 'Aku', admin: false },
  { username: 'Hessu', admin: false },
  { username: 'Roope', admin: true },
];

function signInLines(
  chat: LocalChat,
  tokens: { username: string; admin: boolean; token: string }[],
): string[] {
  if (!chat.issuer) {
    return [
      `  Chat token    ${chat.chatToken}`,
      ...(chat.adminToken ? [`  Admin token   ${chat.adminToken}   (may broadcast)`] : []),
      '',
      '  Connect in another terminal:',
      `    npx wscat -c "${chat.wsUrl}?Auth=${chat.chatToken}"`,
      ...(chat.adminToken ? [`    npx wscat -c "${chat.wsUrl}?Auth=${chat.adminToken}"      # admin`] : []),
    ];
  }
  return [
    `  Sign-in       JWTs from the local OIDC issuer ${chat.issuer.url} (keys made at start, in memory)`,
    `                the web page has a login form for it; tokens last ${LOCAL_TOKEN_SECONDS / 60} min`,
    '',
    ...tokens.flatMap(({ username, admin, token }) => [
      `  ${username}${admin ? ' (admin, may broadcast)' : ''}:`,
      `    npx wscat -c "${chat.wsUrl}?Auth=${token}"`,
    ]),
    '',
    '  More tokens (any name):',
    `    npx wscat -c "${chat.wsUrl}?Auth=$(npm run -s token -- --user Minni)"`,
    '    npm run token -- --user Minni [--admin] [--expires-in 600] [--expires-in=-60] [--id-token]',
  ];
}

function banner(
  chat: LocalChat,
  persistDir: string | undefined,
  tokens: { username: string; admin: boolean; token: string }[],
): string {
  const routes = chat.model.routes.map((r) => r.routeKey).join(' ');
  const dlq = chat.deadLetterQueueUrl.split('/').pop();
  const lines = [
    '',
    `Local WebSocket chat ready in ${(chat.startupMs / 1000).toFixed(1)} s  (routes from template.yaml: ${routes})`,
    '',
    `  WebSocket     ${chat.wsUrl}   (also ${chat.wsUrl}/${chat.model.stageName})`,
    `  Web page      ${chat.httpUrl}/`,
    `  @connections  ${chat.httpUrl}/${chat.model.stageName}/@connections/{connectionId}`,
    '',
    ...signInLines(chat, tokens),
    ...(chat.issuer ? [''] : []),
    '  and type:',
    '    {"action":"enterroom","roomId":"1","nickname":"Mikki"}',
    '    {"action":"sendmessage","roomId":"1","message":"Hei kaikki!"}',
    '    {"action":"exitroom","roomId":"1"}',
    ...(chat.adminToken || chat.issuer
      ? ['    {"action":"broadcast","message":"Huoltokatko klo 18"}      # admin']
      : []),
    '',
    `  DynamoDB      ${chat.dynamoDbEndpoint}   table ${chat.tableName}${persistDir ? `, persisted in ${persistDir}` : ', in memory'}`,
    `  SQS           ${chat.sqsEndpoint}   queue ${chat.queueUrl.split('/').pop()}, dead letters ${dlq}`,
    `  ${path.relative(REPO_ROOT, STACK_FILE)} lets \`npm run invoke -- <FunctionLogicalId> events/<file>.json\` use this stack.`,
    '  Editing a handler rebuilds it; Ctrl-C stops everything.',
    ...faultLines(chat),
    '',
  ];
  return lines.join('\n');
}

/** A second signal sooner than this after the first is the same one, relayed (npm passes signals on). */
const DUPLICATE_SIGNAL_MS = 1000;
/** How long a stop may take before the CLI gives up waiting and exits anyway. */
const STOP_WATCHDOG_MS = 10_000;

async function main(): Promise<void> {
  // This machine's Node may be older than the SDK's future floor; the notice is noise for a local tool.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const opts = options();
  let chat: LocalChat | undefined;
  let stoppingSince: number | undefined;
  const stop = async (signal: string) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C reaches both npm and us, and npm passes it on: a copy within a second is the same press.
      if (Date.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return;
      process.stdout.write('Stopping forcefully.\n');
      process.exit(1);
    }
    stoppingSince = Date.now();
    const started = stoppingSince;
    if (!chat) {
      // Still starting: exiting ends the function sandboxes, and DynamoDB Local with the process.
      process.stdout.write(`\n${signal} while starting: stopping.\nStopped.\n`);
      process.exit(0);
    }
    process.stdout.write(`\n${signal}: closing connections and stopping (Ctrl-C again to force)...\n`);
    removeStackFile();
    const watchdog = setTimeout(() => {
      process.stdout.write(`Not stopped after ${STOP_WATCHDOG_MS / 1000} s; exiting anyway.\n`);
      process.exit(1);
    }, STOP_WATCHDOG_MS);
    watchdog.unref();
    await chat.stop();
    process.stdout.write(`Stopped (${((Date.now() - started) / 1000).toFixed(1)} s).\n`);
    process.exit(0);
  };
  // From the start: a signal while the stack is starting stops it too.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('exit', () => removeStackFile());

  chat = await startLocalChat(opts);
  writeStackFile({
    pid: process.pid,
    startedAt: new Date().toISOString(),
    port: chat.port,
    wsUrl: chat.wsUrl,
    httpUrl: chat.httpUrl,
    chatToken: chat.chatToken,
    adminToken: chat.adminToken,
    tableName: chat.tableName,
    queueUrl: chat.queueUrl,
    deadLetterQueueUrl: chat.deadLetterQueueUrl,
    dynamoDbEndpoint: chat.dynamoDbEndpoint,
    sqsEndpoint: chat.sqsEndpoint,
    resources: chat.resources,
    ...(chat.issuer
      ? {
          auth: {
            mode: 'jwt' as const,
            issuer: chat.issuer.url,
            tokenUrl: chat.issuer.tokenUrl,
            clientId: chat.issuer.clientId,
          },
        }
      : {}),
  });
  const issuer = chat.issuer;
  const tokens = issuer
    ? await Promise.all(LOCAL_USERS.map(async (user) => ({ ...user, token: await issuer.mint(user) })))
    : [];
  process.stdout.write(`${banner(chat, opts.persistDir, tokens)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
