/**
 * `npm run invoke -- <FunctionLogicalId> [events/<file>.json] [--env-vars <file>]`: runs one
 * function of template.yaml once against the running local stack (`npm start`), the
 * Docker-free twin of `sam local invoke`. The function gets the environment it has in the
 * stack (table, queue, @connections URL, tokens); `--env-vars` takes SAM's env.json format
 * ({ "<FunctionLogicalId>": { "VAR": "value" }, "Parameters": { … } }) to override some of it.
 * The result is printed as JSON on stdout, the function's logs on stderr; a function error
 * exits 1. Both are redacted as the local stack's log is (local/invocation-log.ts): tokens
 * under secret-looking keys at any depth, in `?Auth=` values, and the stack's own tokens.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { redact } from '../functions/shared/runtime/logger';
import { redactingSink, redactLine } from './invocation-log';
import { LocalFunctions } from './lambda/sandboxes';
import { REPO_ROOT } from './repo-root';
import { readStackFile } from './stack-file';
import { localFunctionName, resolveFunctionEnv } from './template/local-resources';
import { loadTemplateModel } from './template/template-model';

const USAGE =
  'Usage: npm run invoke -- <FunctionLogicalId> [events/<file>.json] [--env-vars events/env.json]';

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(path.resolve(file), 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read ${file} as JSON: ${(error as Error).message}`);
  }
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { 'env-vars': { type: 'string', short: 'n' }, help: { type: 'boolean', short: 'h' } },
  });
  const [functionId, eventFile] = positionals;
  if (values.help || !functionId) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const stack = readStackFile();
  const model = loadTemplateModel(undefined, {
    ChatAuthToken: stack.chatToken,
    AdminAuthToken: stack.adminToken,
  });
  const fn = model.functions[functionId];
  if (!fn) {
    throw new Error(
      `template.yaml has no function ${functionId}; it has ${Object.keys(model.functions).join(', ')}`,
    );
  }
  const secrets = [stack.chatToken, stack.adminToken];
  const stderr = redactingSink((line) => process.stderr.write(`${line}\n`), secrets);
  const stdout = redactingSink((line) => process.stdout.write(`${line}\n`), secrets);
  const event = eventFile ? readJson(eventFile) : {};
  const overrides = values['env-vars']
    ? ((readJson(values['env-vars']) as Record<string, Record<string, string>>)[functionId] ?? {})
    : {};

  const functions = await LocalFunctions.start({
    functions: [fn],
    configure: (functionModel) => ({
      functionName: localFunctionName(stack.resources.stackName, functionModel.logicalId),
      env: resolveFunctionEnv(model, functionModel, stack.resources, overrides),
    }),
    buildDir: path.join(REPO_ROOT, '.cache', 'local-build', `invoke-${process.pid}`),
    output: (_id, line) => stderr(redactLine(line)),
  });
  try {
    const outcome = await functions.invoke(functionId, event);
    const timing =
      `${functionId} ${outcome.requestId}: ${outcome.durationMs} ms` +
      (outcome.initMs !== undefined ? ` (init ${outcome.initMs} ms)` : '');
    stderr(`END ${timing}`);
    stdout(JSON.stringify(redact(outcome.ok ? outcome.result : outcome.error), null, 2));
    return outcome.ok ? 0 : 1;
  } finally {
    await functions.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `npm run invoke failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(2);
  },
);
