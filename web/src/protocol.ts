/**
 * The browser's side of the chat protocol (docs/protocol.md). Event shapes are the server's own
 * types (type-only import, erased by esbuild); the limits come from the same rules module the
 * handlers use, so the page checks input exactly as the server will.
 */
import type { ErrorCode } from '../../functions/shared/domain/errors.js';
import { LEAVE_REASONS, type LeaveReason } from '../../functions/shared/domain/leave-reasons.js';
import type { ServerEvent } from '../../functions/shared/domain/protocol.js';
import {
  MAX_MESSAGE_BYTES,
  MAX_ROOM_ID_LENGTH,
  nicknameProblem,
  ROOM_ID_PATTERN,
} from '../../functions/shared/domain/rules.js';

export type { ErrorCode, LeaveReason, ServerEvent };

export type ClientFrame =
  | { action: 'enterroom'; roomId: string; nickname: string; since?: number }
  | { action: 'exitroom'; roomId: string }
  | { action: 'sendmessage'; roomId: string; message: string }
  | { action: 'history'; roomId: string; before?: number; limit?: number }
  | { action: 'broadcast'; message: string };

/** An event of a room's log (what `history` holds, and what live room events are). */
export type RoomLogEvent = Extract<ServerEvent, { type: 'joined' | 'message' | 'left' }>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(record: Record<string, unknown>, ...keys: string[]): boolean {
  return keys.every((key) => typeof record[key] === 'string');
}

/**
 * Parses one text frame from the server. Returns null for anything that is not a well-formed
 * event of a known type, so a newer server or a stray frame cannot break the page.
 */
export function parseServerEvent(data: unknown): ServerEvent | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  return isServerEvent(value) ? (value as unknown as ServerEvent) : null;
}

const isSeq = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

function isServerEvent(value: unknown): boolean {
  if (!isRecord(value) || !strings(value, 'type', 'id', 'at')) return false;
  // Room events carry their place in the room's log (`seq`).
  const roomEvent = ['entered', 'joined', 'message', 'left', 'exited'].includes(value.type as string);
  if (roomEvent && !isSeq(value.seq)) return false;
  return (() => {
    switch (value.type) {
      case 'entered':
        return (
          strings(value, 'roomId', 'nickname') &&
          Array.isArray(value.members) &&
          value.members.every((m) => typeof m === 'string')
        );
      case 'joined':
        return strings(value, 'roomId', 'nickname');
      case 'message':
        return strings(value, 'roomId', 'from', 'message');
      case 'history':
        return (
          strings(value, 'roomId') &&
          typeof value.more === 'boolean' &&
          Array.isArray(value.events) &&
          value.events.every(
            (e) => isServerEvent(e) && ['joined', 'message', 'left'].includes((e as { type: string }).type),
          )
        );
      case 'exited':
        return strings(value, 'roomId');
      case 'left':
        return (
          strings(value, 'roomId', 'nickname') && (LEAVE_REASONS as readonly unknown[]).includes(value.reason)
        );
      case 'broadcast':
        return strings(value, 'from', 'message');
      case 'error':
        return strings(value, 'code', 'message') && (value.action === undefined || strings(value, 'action'));
      default:
        return false;
    }
  })();
}

export function checkRoomId(roomId: string): string | null {
  return ROOM_ID_PATTERN.test(roomId)
    ? null
    : `Room ids are 1-${MAX_ROOM_ID_LENGTH} characters of A-Z, a-z, 0-9, _ or -.`;
}

/** The server's own nickname rules (functions/shared/domain/rules.ts), as a sentence for people. */
export function checkNickname(nickname: string): string | null {
  const problem = nicknameProblem(nickname.normalize('NFC'));
  return problem
    ? `${problem.charAt(0).toUpperCase()}${problem.slice(1)}.`.replace(/^Nickname/, 'The nickname')
    : null;
}

export function checkMessage(message: string): string | null {
  if (message.trim().length === 0) return 'Write something first.';
  const bytes = new TextEncoder().encode(message).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    return `Messages are at most ${MAX_MESSAGE_BYTES} bytes; this one is ${bytes}.`;
  }
  return null;
}

/**
 * The URL to open: the endpoint with `Auth=<token>` in its query string (API Gateway's
 * authorizer reads it from there). Throws a readable Error for anything that is not ws(s)://.
 */
export function socketUrl(endpoint: string, token: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new Error('The endpoint must be a URL like wss://abc123.execute-api.eu-north-1.amazonaws.com/dev');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new Error('The endpoint must start with ws:// or wss://');
  }
  url.searchParams.set('Auth', token);
  return url.toString();
}

export interface EndpointChoice {
  endpoint: string;
  /** Built into the page, taken from the page's `?endpoint=`, derived from the page's host, or none. */
  source: 'built' | 'query' | 'page' | 'none';
  /** Set when `?endpoint=` names a host other than the page's own: the token would go there. */
  foreignHost?: string;
}

/**
 * The endpoint to prefill. One built into the page always wins: a crafted link's `?endpoint=`
 * must not send the person's token (an admin's too) to another host. Without one, `?endpoint=`
 * is used, flagged when it names a host other than the page's; else the page's own host (the
 * local gateway serves the page and the WebSocket on one port).
 */
export function chooseEndpoint(
  location: { protocol: string; host: string; search: string },
  built: string,
): EndpointChoice {
  if (built) return { endpoint: built, source: 'built' };
  const fromQuery = new URLSearchParams(location.search).get('endpoint')?.trim();
  if (fromQuery) {
    let host: string;
    try {
      host = new URL(fromQuery).host;
    } catch {
      host = fromQuery;
    }
    return { endpoint: fromQuery, source: 'query', ...(host !== location.host ? { foreignHost: host } : {}) };
  }
  if (location.protocol === 'http:') return { endpoint: `ws://${location.host}`, source: 'page' };
  if (location.protocol === 'https:') return { endpoint: `wss://${location.host}`, source: 'page' };
  return { endpoint: '', source: 'none' };
}

/** The warning shown under the endpoint field when a link points the page at another host. */
export function foreignEndpointWarning(foreignHost: string, pageHost: string): string {
  const page = pageHost ? `this page's server (${pageHost})` : 'this page';
  return (
    `This link points the chat at ${foreignHost}, not at ${page}. ` +
    'Your token is sent there when you connect: connect only if you trust that host.'
  );
}
