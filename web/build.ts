/**
 * Builds the browser client into static files: index.html, app.js and styles.css.
 *
 *   npm run build:web                                  # -> web/dist, endpoint taken from the page's host
 *   npm run build:web -- --endpoint wss://abc.execute-api.eu-north-1.amazonaws.com/dev --minify
 *   npm run build:web -- --out /tmp/site
 *
 * The local gateway calls `buildWeb('web/dist')` at startup and serves the folder. A page built
 * with `--endpoint` connects only there (its Content-Security-Policy allows that origin alone, and
 * `?endpoint=` in its URL is ignored); one built without it can be pointed anywhere with
 * `?endpoint=wss://…` (it then warns when that is not its own host) or its form field.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { contentSecurityPolicy, withPolicy } from './csp';

export interface BuildWebOptions {
  minify?: boolean;
  /** A ws:// or wss:// URL to prefill in the connect form (e.g. the stack's WebSocketUrl output). */
  endpoint?: string;
  /** Emit app.js.map next to app.js. */
  sourcemap?: boolean;
}

const WEB_DIR = __dirname;

export async function buildWeb(outDir: string, options: BuildWebOptions = {}): Promise<void> {
  const out = path.resolve(outDir);
  const endpoint = options.endpoint ?? '';
  if (endpoint && !/^wss?:\/\//.test(endpoint)) {
    throw new Error(`--endpoint must be a ws:// or wss:// URL, got "${endpoint}"`);
  }
  await mkdir(out, { recursive: true });
  const common = {
    bundle: true,
    minify: options.minify ?? false,
    logLevel: 'warning' as const,
    legalComments: 'none' as const,
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [path.join(WEB_DIR, 'src', 'main.ts')],
      outfile: path.join(out, 'app.js'),
      platform: 'browser',
      format: 'iife',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      sourcemap: options.sourcemap ?? false,
      define: { __CHAT_ENDPOINT__: JSON.stringify(endpoint) },
    }),
    build({
      ...common,
      entryPoints: [path.join(WEB_DIR, 'styles.css')],
      outfile: path.join(out, 'styles.css'),
      target: ['chrome100', 'firefox100', 'safari15'],
    }),
    readFile(path.join(WEB_DIR, 'index.html'), 'utf8').then((html) =>
      writeFile(path.join(out, 'index.html'), withPolicy(html, contentSecurityPolicy(endpoint))),
    ),
  ]);
}

function parseArgs(argv: string[]): { outDir: string; options: BuildWebOptions } {
  let outDir = path.join(WEB_DIR, 'dist');
  const options: BuildWebOptions = {};
  const envEndpoint = process.env.CHAT_WEB_ENDPOINT;
  if (envEndpoint) options.endpoint = envEndpoint;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--out') outDir = value();
    else if (arg === '--endpoint') options.endpoint = value();
    else if (arg === '--minify') options.minify = true;
    else if (arg === '--sourcemap') options.sourcemap = true;
    else throw new Error(`Unknown option ${arg}. Use --out DIR, --endpoint wss://…, --minify, --sourcemap.`);
  }
  return { outDir, options };
}

if (require.main === module) {
  const started = Date.now();
  Promise.resolve()
    .then(() => parseArgs(process.argv.slice(2)))
    .then(async ({ outDir, options }) => {
      await buildWeb(outDir, options);
      console.log(
        `web client built into ${path.relative(process.cwd(), path.resolve(outDir)) || '.'} in ${Date.now() - started} ms`,
      );
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    });
}
