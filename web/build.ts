/**
 * Builds the browser client into static files: index.html, app.js and styles.css.
 *
 *   npm run build:web                                  # -> web/dist, endpoint taken from the page's host
 *   npm run build:web -- --endpoint wss://abc.execute-api.eu-north-1.amazonaws.com/dev --minify
 *   npm run build:web -- --out /tmp/site
 *   npm run build:web -- --endpoint wss://… --cognito-domain https://chat-1.auth.eu-north-1.amazoncognito.com --client-id <id>
 *   npm run build:web -- --endpoint wss://… --oidc-authorize-url https://… --oidc-token-url https://… --client-id <id>
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
import { cognitoSignIn, parseSignInConfig, type SignInConfig } from './src/sign-in';

export interface BuildWebOptions {
  minify?: boolean;
  /** A ws:// or wss:// URL to prefill in the connect form (e.g. the stack's WebSocketUrl output). */
  endpoint?: string;
  /** Emit app.js.map next to app.js. */
  sourcemap?: boolean;
  /**
   * How users sign in (jwt mode): the local issuer's login form, or an OIDC provider's hosted
   * sign-in with PKCE (Cognito). Default: the shared token (token mode).
   */
  signIn?: SignInConfig;
}

/** What the page must reach to sign in (jwt mode: the token endpoint's origin), for its CSP's connect-src. */
export function signInOrigins(signIn: SignInConfig): string[] {
  return signIn.kind === 'token' ? [] : [new URL(signIn.tokenUrl).origin];
}

const WEB_DIR = __dirname;

export async function buildWeb(outDir: string, options: BuildWebOptions = {}): Promise<void> {
  const out = path.resolve(outDir);
  const endpoint = options.endpoint ?? '';
  if (endpoint && !/^wss?:\/\//.test(endpoint)) {
    throw new Error(`--endpoint must be a ws:// or wss:// URL, got "${endpoint}"`);
  }
  const signIn = options.signIn ?? { kind: 'token' };
  // Checked here, so a bad setting fails the build rather than the page.
  parseSignInConfig(JSON.stringify(signIn));
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
      define: {
        __CHAT_ENDPOINT__: JSON.stringify(endpoint),
        __CHAT_SIGN_IN__: JSON.stringify(signIn.kind === 'token' ? '' : JSON.stringify(signIn)),
      },
    }),
    build({
      ...common,
      entryPoints: [path.join(WEB_DIR, 'styles.css')],
      outfile: path.join(out, 'styles.css'),
      target: ['chrome100', 'firefox100', 'safari15'],
    }),
    readFile(path.join(WEB_DIR, 'index.html'), 'utf8').then((html) =>
      writeFile(
        path.join(out, 'index.html'),
        withPolicy(html, contentSecurityPolicy(endpoint, signInOrigins(signIn))),
      ),
    ),
  ]);
}

function parseArgs(argv: string[]): { outDir: string; options: BuildWebOptions } {
  let outDir = path.join(WEB_DIR, 'dist');
  const options: BuildWebOptions = {};
  const envEndpoint = process.env.CHAT_WEB_ENDPOINT;
  if (envEndpoint) options.endpoint = envEndpoint;
  const oidc: Record<string, string> = {};
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
    else if (arg === '--cognito-domain') oidc.cognitoDomain = value();
    else if (arg === '--client-id') oidc.clientId = value();
    else if (arg === '--scope') oidc.scope = value();
    else if (arg === '--oidc-authorize-url') oidc.authorizeUrl = value();
    else if (arg === '--oidc-token-url') oidc.tokenUrl = value();
    else if (arg === '--oidc-logout-url') oidc.logoutUrl = value();
    else {
      throw new Error(
        `Unknown option ${arg}. Use --out DIR, --endpoint wss://…, --minify, --sourcemap, ` +
          '--cognito-domain URL --client-id ID, --oidc-authorize-url URL --oidc-token-url URL, --scope.',
      );
    }
  }
  if (Object.keys(oidc).length > 0) {
    if (!oidc.clientId) throw new Error('Signing in needs --client-id (the app client id).');
    options.signIn = oidc.cognitoDomain
      ? cognitoSignIn(oidc.cognitoDomain, oidc.clientId, oidc.scope)
      : parseSignInConfig(JSON.stringify({ kind: 'oidc', ...oidc }));
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
