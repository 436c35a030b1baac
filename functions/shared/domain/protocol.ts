/**
 * The client <-> server contract. Inbound frames are validated with zod schemas; outbound
 * events are built here so every event has `type`, a unique `id` and an ISO-8601 `at`.
 */
import { randomUUID } from 'node:crypto';
import {
  int,
  literal,
  maximum,
  minimum,
  object,
  optional,
  pipe,
  refine,
  regex,
  string,
  transform,
  type ZodMiniType,
} from 'zod/mini';
import { BadRequestError, type ErrorCode, MessageTooLongError } from './errors.js';
import type { LeaveReason } from './room-events.js';
import {
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  MAX_MESSAGE_BYTES,
  MAX_ROOM_ID_LENGTH,
  nicknameProblem,
  ROOM_ID_PATTERN,
  utf8Bytes,
} from './rules.js';

export type { LeaveReason };

// zod/mini with named imports: tree-shakes to ~15 KB, where the classic API bundles ~450 KB.
const roomId = string({ error: 'roomId must be a string' }).check(
  regex(ROOM_ID_PATTERN, `roomId must be 1-${MAX_ROOM_ID_LENGTH} characters of A-Z, a-z, 0-9, _ or -`),
);

const nickname = pipe(
  string({ error: 'nickname must be a string' }),
  transform((s: string) => s.normalize('NFC')),
).check(
  refine((s) => nicknameProblem(s) === undefined, { error: (issue) => nicknameProblem(String(issue.input)) }),
);

/** Message text is delivered verbatim; only its presence and size are checked. */
const message = string({ error: 'message must be a string' }).check(
  refine((s) => s.trim().length > 0, { error: 'message must not be empty' }),
);

/** A position in a room's log: 1, 2, 3, … (0 in `since` = "from the start"). */
const seq = (name: string, min: number) =>
  int({ error: `${name} must be an integer` }).check(
    minimum(min, { error: `${name} must be at least ${min}` }),
    maximum(Number.MAX_SAFE_INTEGER, { error: `${name} is too large` }),
  );

export const EnterRoomBody = object({
  action: literal('enterroom'),
  roomId,
  /** Optional when the connection's sign-in gives a display name (jwt mode). */
  nickname: optional(nickname),
  /** Resume: the last seq this client saw of the room. */
  since: optional(seq('since', 0)),
});
export const ExitRoomBody = object({ action: literal('exitroom'), roomId: optional(roomId) });
export const SendMessageBody = object({ action: literal('sendmessage'), roomId: optional(roomId), message });
export const BroadcastBody = object({ action: literal('broadcast'), message });
export const HistoryBody = object({
  action: literal('history'),
  roomId,
  before: optional(seq('before', 1)),
  limit: optional(
    int({ error: 'limit must be an integer' }).check(
      minimum(1, { error: `limit must be 1-${HISTORY_MAX_LIMIT}` }),
      maximum(HISTORY_MAX_LIMIT, { error: `limit must be 1-${HISTORY_MAX_LIMIT}` }),
    ),
  ),
});
export { HISTORY_DEFAULT_LIMIT };

/**
 * The nickname an `enterroom` uses: the one given, else the display name of the sign-in
 * (jwt mode), which must follow the same rules.
 */
export function resolveNickname(given: string | undefined, signInName: string | undefined): string {
  if (given !== undefined) return given;
  if (signInName === undefined) throw new BadRequestError('nickname is required');
  const name = signInName.normalize('NFC');
  const problem = nicknameProblem(name);
  if (problem)
    throw new BadRequestError(`nickname is required: your sign-in name cannot be used (${problem})`);
  return name;
}

/** Parses a frame body as a JSON object, or throws BadRequestError. */
export function parseJsonObject(body: string | null | undefined): Record<string, unknown> {
  if (body === null || body === undefined || body === '')
    throw new BadRequestError('Empty frame: send a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new BadRequestError('Frames must be valid JSON objects.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError('Frames must be JSON objects.');
  }
  return value as Record<string, unknown>;
}

/** Validates a parsed frame against a schema; the first problem becomes a readable BadRequestError. */
export function validate<T>(schema: ZodMiniType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const [field] = issue?.path ?? [];
    const missing = typeof field === 'string' && (value as Record<string, unknown>)[field] === undefined;
    throw new BadRequestError(missing ? `${field} is required` : (issue?.message ?? 'Invalid request.'));
  }
  const data = result.data as T & { message?: unknown };
  if (typeof data.message === 'string' && utf8Bytes(data.message) > MAX_MESSAGE_BYTES) {
    throw new MessageTooLongError(MAX_MESSAGE_BYTES);
  }
  return data;
}

interface EventBase {
  id: string;
  at: string;
}

/**
 * An event of a room's log as its members see it: `seq` is its place in the room's one
 * order (1, 2, 3, … no gaps, no repeats, the same for every recipient and in `history`).
 */
export type RoomLogEvent = EventBase & { roomId: string; seq: number } & (
    | { type: 'joined'; nickname: string }
    | { type: 'message'; from: string; fromId: string; message: string }
    | { type: 'left'; nickname: string; reason: LeaveReason }
  );

export type ServerEvent =
  | RoomLogEvent
  | (EventBase &
      (
        | {
            type: 'entered';
            roomId: string;
            seq: number;
            nickname: string;
            members: string[];
            memberCount: number;
            /** Present when the client asked to resume (`since`): whether every missed event follows. */
            resumed?: boolean;
          }
        | { type: 'exited'; roomId: string; seq: number }
        | { type: 'history'; roomId: string; events: RoomLogEvent[]; more: boolean }
        | { type: 'broadcast'; from: string; message: string }
        | { type: 'error'; code: ErrorCode; message: string; action?: string }
      ));

/** Omit over each member of a union (plain Omit would merge the union's members). */
export type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
export type ServerEventInput = DistributiveOmit<ServerEvent, 'id' | 'at'>;

export function serverEvent(
  input: ServerEventInput,
  meta: Partial<EventBase> = {},
  now: () => Date = () => new Date(),
): ServerEvent {
  return { ...input, id: meta.id ?? randomUUID(), at: meta.at ?? now().toISOString() } as ServerEvent;
}
