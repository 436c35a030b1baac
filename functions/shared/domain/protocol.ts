/**
 * The client <-> server contract. Inbound frames are validated with zod schemas; outbound
 * events are built here so every event has `type`, a unique `id` and an ISO-8601 `at`.
 */
import { randomUUID } from 'node:crypto';
import {
  literal,
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
import {
  MAX_MESSAGE_BYTES,
  MAX_NICKNAME_LENGTH,
  MAX_ROOM_ID_LENGTH,
  NICKNAME_PATTERN,
  ROOM_ID_PATTERN,
  utf8Bytes,
} from './rules.js';

// zod/mini with named imports: tree-shakes to ~15 KB, where the classic API bundles ~450 KB.
const roomId = string({ error: 'roomId must be a string' }).check(
  regex(ROOM_ID_PATTERN, `roomId must be 1-${MAX_ROOM_ID_LENGTH} characters of A-Z, a-z, 0-9, _ or -`),
);

const nickname = pipe(
  string({ error: 'nickname must be a string' }),
  transform((s: string) => s.normalize('NFC')),
).check(
  refine((s) => [...s].length >= 1 && [...s].length <= MAX_NICKNAME_LENGTH, {
    error: `nickname must be 1-${MAX_NICKNAME_LENGTH} characters`,
  }),
  refine((s) => NICKNAME_PATTERN.test(s), {
    error: "nickname may contain letters, digits, single spaces and _ . ' - only",
  }),
);

/** Message text is delivered verbatim; only its presence and size are checked. */
const message = string({ error: 'message must be a string' }).check(
  refine((s) => s.trim().length > 0, { error: 'message must not be empty' }),
);

export const EnterRoomBody = object({ action: literal('enterroom'), roomId, nickname });
export const ExitRoomBody = object({ action: literal('exitroom'), roomId: optional(roomId) });
export const SendMessageBody = object({ action: literal('sendmessage'), roomId: optional(roomId), message });
export const BroadcastBody = object({ action: literal('broadcast'), message });

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

export type LeaveReason = 'exit' | 'disconnect' | 'gone';

interface EventBase {
  id: string;
  at: string;
}

export type ServerEvent = EventBase &
  (
    | { type: 'entered'; roomId: string; nickname: string; members: string[]; memberCount: number }
    | { type: 'joined'; roomId: string; nickname: string }
    | { type: 'message'; roomId: string; from: string; message: string }
    | { type: 'exited'; roomId: string }
    | { type: 'left'; roomId: string; nickname: string; reason: LeaveReason }
    | { type: 'broadcast'; from: string; message: string }
    | { type: 'error'; code: ErrorCode; message: string; action?: string }
  );

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
