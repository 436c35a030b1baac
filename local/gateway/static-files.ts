/**
 * Serves the web client's build (web/dist) at `/` on the gateway's port: index.html and its
 * assets, nothing outside the folder. An HTML page goes out with its Content-Security-Policy as
 * a header too: the policy web/build.ts wrote into the page's meta tag, plus
 * `frame-ancestors 'none'` (no framing; a meta tag cannot say that).
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { contentSecurityPolicy, policyOf } from '../../web/csp';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Answers GET/HEAD from `root`; returns false when the request is not for a file there. */
export function serveStatic(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!existsSync(root)) {
    if (pathname !== '/') return false;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      'The web client is not built (no web/dist). The WebSocket endpoint is on this same URL with ws://.\n',
    );
    return true;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  const file = path.resolve(root, `.${relative.endsWith('/') ? `${relative}index.html` : relative}`);
  if (file !== root && !file.startsWith(`${root}${path.sep}`)) return false;
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  const extension = path.extname(file).toLowerCase();
  const policy =
    extension === '.html' ? (policyOf(readFileSync(file, 'utf8')) ?? contentSecurityPolicy()) : undefined;
  res.writeHead(200, {
    'content-type': TYPES[extension] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...(policy ? { 'content-security-policy': `${policy}; frame-ancestors 'none'` } : {}),
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
  return true;
}
