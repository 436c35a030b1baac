/**
 * `npm run token`: a token from the local issuer of a running `npm start -- --auth jwt`,
 * printed alone on stdout (so `$(npm run -s token -- --user Mikki)` works in a shell).
 *
 *   npm run token -- --user Mikki [--admin] [--expires-in 600] [--id-token]
 */
import { parseArgs } from 'node:util';
import { readStackFile, STACK_FILE } from '../stack-file';

const USAGE = `Usage: npm run token -- --user <name> [--admin] [--expires-in <seconds>] [--id-token]

Asks the local OIDC issuer of the running \`npm start -- --auth jwt\` for a token and prints it.
  --user <name>          who the token is for (its preferred_username; sub is derived from it)
  --admin                put the user in the chat-admins group (may broadcast)
  --expires-in <s>       lifetime in seconds (default 3600; negative gives an expired token)
  --id-token             print the ID token instead of the access token (the authorizer refuses it)`;

export async function requestToken(
  tokenUrl: string,
  clientId: string,
  options: { user: string; admin?: boolean; expiresIn?: number; idToken?: boolean },
): Promise<string> {
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: clientId,
      username: options.user,
      password: 'local',
      ...(options.admin ? { admin: 'true' } : {}),
      ...(options.expiresIn !== undefined ? { expires_in: String(options.expiresIn) } : {}),
    }),
  });
  if (!response.ok) throw new Error(`The local issuer answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { access_token?: string; id_token?: string };
  const token = options.idToken ? body.id_token : body.access_token;
  if (!token) throw new Error('The local issuer sent no token.');
  return token;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      admin: { type: 'boolean', default: false },
      'expires-in': { type: 'string' },
      'id-token': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.user?.trim()) {
    (values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const expiresIn = values['expires-in'] === undefined ? undefined : Number(values['expires-in']);
  if (expiresIn !== undefined && !Number.isInteger(expiresIn))
    throw new Error('--expires-in takes whole seconds.');
  const stack = readStackFile(process.env.LOCAL_STACK_FILE ?? STACK_FILE);
  if (!stack.auth) {
    throw new Error(
      'The running stack uses shared tokens. Start it with `npm start -- --auth jwt` for JWTs.',
    );
  }
  const token = await requestToken(stack.auth.tokenUrl, stack.auth.clientId, {
    user: values.user.trim(),
    admin: values.admin,
    ...(expiresIn !== undefined ? { expiresIn } : {}),
    idToken: values['id-token'],
  });
  process.stdout.write(`${token}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`npm run token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
