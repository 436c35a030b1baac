/**
 * The @connections management API (what ApiGatewayManagementApiClient calls), served by the
 * gateway on its own port: POST /{stage}/@connections/{id} sends the body to the client as
 * one frame, GET describes it (connectedAt, identity, lastActiveAt), DELETE closes it. An
 * unknown or closed connection answers 410 with `x-amzn-errortype: GoneException`, a body
 * over 128 KB 413 PayloadTooLargeException, so SDK v3 throws the same exceptions as
 * against AWS.
 * Unsigned requests get 403, as in AWS (the signature itself is not checked).
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sleep } from '../../functions/shared/runtime/sleep';
import { type FaultSwitches, faultFires } from '../faults/faults';
import { MESSAGE_LIMIT_BYTES } from './frame-limits';

export interface ManagedConnection {
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent?: string;
  /** Sends one frame: text when the bytes are UTF-8, binary otherwise. */
  send(data: Buffer): void;
  close(): void;
}

/** The connection id of an @connections URL (`/@connections/{id}` or `/{stage}/@connections/{id}`). */
export function connectionsPathId(pathname: string, stage: string): string | undefined {
  // `@` may arrive encoded (awscurl and the AWS docs' examples send %40connections).
  const match = /^(?:\/([^/]+))?\/(?:@|%40)connections\/([^/]+)\/?$/i.exec(pathname);
  if (!match || (match[1] !== undefined && match[1] !== stage)) return undefined;
  try {
    return decodeURIComponent(match[2] as string);
  } catch {
    return undefined;
  }
}

const ERROR_TYPES: Record<number, string> = {
  403: 'ForbiddenException',
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
};

function reply(res: ServerResponse, status: number, body?: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { 'x-amzn-requestid': randomUUID() };
  if (status >= 400) headers['x-amzn-errortype'] = ERROR_TYPES[status] ?? 'InternalServerErrorException';
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

/** Reads the request body; `tooLarge` when it exceeds the limit (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge: size > limit }));
    req.on('error', reject);
  });
}

export async function handleConnectionsRequest(
  req: IncomingMessage,
  res: ServerResponse,
  connectionId: string,
  find: (connectionId: string) => ManagedConnection | undefined,
  faults: FaultSwitches,
): Promise<void> {
  const { body, tooLarge } = await readBody(req, MESSAGE_LIMIT_BYTES);
  if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
    reply(res, 403, { message: 'Missing Authentication Token' });
    return;
  }
  if (req.method === 'POST') {
    if (faultFires(faults, faults.connections.hangRate)) return; // never answered; the caller times out
    if (faults.connections.delayMs > 0) {
      await sleep(faults.connections.delayMs);
      // The caller gave up (timed out, or its process died) while we stalled: nothing is sent.
      if (res.destroyed || req.socket.destroyed) return;
    }
    if (
      faults.connections.failConnectionIds.includes(connectionId) ||
      faultFires(faults, faults.connections.failRate)
    ) {
      reply(res, faults.connections.failStatus, { message: 'Injected fault (local gateway fault switch)' });
      return;
    }
  }
  const connection = find(connectionId);
  if (!connection) {
    reply(res, 410, { message: `Connection ${connectionId} is gone` });
    return;
  }
  switch (req.method) {
    case 'POST':
      if (tooLarge) {
        reply(res, 413, { message: `Message exceeds the ${MESSAGE_LIMIT_BYTES / 1024} KB limit` });
        return;
      }
      connection.send(body);
      reply(res, 200);
      return;
    case 'GET':
      // The wire names (the SDK exposes them as ConnectedAt, Identity.SourceIp, …).
      reply(res, 200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent ?? '' },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
      return;
    case 'DELETE':
      connection.close();
      reply(res, 204);
      return;
    default:
      reply(res, 403, { message: 'Missing Authentication Token' });
  }
}
