/**
 * Whether an HTTP upgrade request is a valid WebSocket opening handshake (RFC 6455), checked
 * before anything else runs: API Gateway refuses a malformed handshake without invoking the
 * authorizer or $connect, so no connection record may be written for it. The checks are the
 * ones `ws` makes in handleUpgrade (which runs only after $connect), so nothing that passes
 * here is refused by `ws` afterwards.
 */
import type { IncomingMessage } from 'node:http';

/** Sec-WebSocket-Key: 16 random bytes, base64 (ws's own pattern). */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** An RFC 7230 token (a subprotocol name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface InvalidUpgrade {
  status: number;
  message: string;
}

export function invalidUpgrade(req: IncomingMessage): InvalidUpgrade | undefined {
  if (req.method !== 'GET') return { status: 405, message: 'Invalid HTTP method' };
  if (req.headers.upgrade?.toLowerCase() !== 'websocket')
    return { status: 400, message: 'Invalid Upgrade header' };
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) {
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  }
  const version = Number(req.headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) {
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Version header' };
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const names = protocols.split(',').map((p) => p.trim());
    if (names.some((name) => !TOKEN.test(name)) || new Set(names).size !== names.length) {
      return { status: 400, message: 'Invalid Sec-WebSocket-Protocol header' };
    }
  }
  return undefined;
}
