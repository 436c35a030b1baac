/**
 * .local-data/stack.json: where a running `npm start` tells `npm run invoke` (and anyone
 * curious) its endpoints, names, port and tokens. Written when the stack is ready, removed
 * when it stops. .local-data/ is git-ignored.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo-root';
import type { LocalResources } from './template/local-resources';

export const STACK_FILE = path.join(REPO_ROOT, '.local-data', 'stack.json');

export interface StackFile {
  pid: number;
  startedAt: string;
  port: number;
  wsUrl: string;
  httpUrl: string;
  chatToken: string;
  adminToken: string;
  tableName: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
  resources: LocalResources;
  /** jwt mode (`npm start -- --auth jwt`): the local issuer `npm run token` asks for tokens. */
  auth?: { mode: 'jwt'; issuer: string; tokenUrl: string; clientId: string };
}

export function writeStackFile(stack: StackFile, file = STACK_FILE): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the file if it is still this process's. */
export function removeStackFile(file = STACK_FILE): void {
  try {
    const stack = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
    if (stack.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running stack's file, or an Error saying why there is none. */
export function readStackFile(file = STACK_FILE): StackFile {
  const hint = 'Start one with `npm start` (in another terminal) and try again.';
  if (!existsSync(file))
    throw new Error(`No local stack is running (no ${path.relative(REPO_ROOT, file)}). ${hint}`);
  const stack = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
  if (!alive(stack.pid)) {
    throw new Error(
      `No local stack is running (${path.relative(REPO_ROOT, file)} is left from process ${stack.pid}). ${hint}`,
    );
  }
  return stack;
}
