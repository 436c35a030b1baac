/**
 * The client <-> server contract. Inbound frames are validated with zod schemas; outbound
 * events are built here so every event has `type`, a unique `id` and an ISO-8601 `at`.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { BadRequestError, type ErrorCode, MessageTooLongError } from './errors.js';
import {
  MAX_MESSAGE_BYTES,
  MAX_NICKNAME_LENGTH,
  MAX_ROOM_ID_LENGTH,
  NICKNAME_PATTERN,
  ROOM_ID_PATTERN,
  utf8Bytes,
} from './rules.js';

const roomId = z
  .string({ error: 'roomId must be a string' })
  .regex(ROOM_ID_PATTERN, `roomId must be 1-${MAX_ROOM_ID_LENGTH} characters of A-Z, a-z, 0-9, _ or -`);

const nickname = z
  .string({ error: 'nickname must be a string' })
  .transform((s) => s.normalize('NFC'))
  .refine((s) => [...s].length >= 1 && [...s].length <= MAX_NICKNAME_LENGTH, {
    error: `nickname must be 1-${MAX_NICKNAME_LENGTH} characters`,
  })
  .refine((s) => NICKNAME_PATTERN.test(s), {
    error: "nickname may contain letters, digits, single spaces and _ . ' - only",
  });

/** Message text is delivered verbatim; only its presence and size are checked. */
const message = z
  .string({ error: 'message must be a string' })
  .refine((s) => s.trim().length > 0, { error: 'message must not be empty' });

export const EnterRoomBody = z.object({ action: z.literal('enterroom'), roomId, nickname });
export const ExitRoomBody = z.object({ action: z.literal('exitroom'), roomId: roomId.optional() });
export const SendMessageBody = z.object({
  action: z.literal('sendmessage'),
  roomId: roomId.optional(),
  message,
});
export const BroadcastBody = z.object({ action: z.literal('broadcast'), message });

export type EnterRoomRequest = z.infer<typeof EnterRoomBody>;
export type ExitRoomRequest = z.infer<typeof ExitRoomBody>;
export type SendMessageRequest = z.infer<typeof SendMessageBody>;
export type BroadcastRequest = z.infer<typeof BroadcastBody>;

export const ACTIONS = ['enterroom', 'exitroom', 'sendmessage', 'broadcast'] as const;
export type Action = (typeof ACTIONS)[number];

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
export function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.');
    const text =
      issue?.code === 'invalid_type' && issue.input === undefined ? `${field} is required` : issue?.message;
    throw new BadRequestError(text ?? 'Invalid request.');
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
    | { type: 'entered'; roomId: string; nickname: string; members: string[] }
    | { type: 'joined'; roomId: string; nickname: string }
    | { type: 'message'; roomId: string; from: string; message: string }
    | { type: 'exited'; roomId: string }
    | { type: 'left'; roomId: string; nickname: string; reason: LeaveReason }
    | { type: 'broadcast'; from: string; message: string }
    | { type: 'error'; code: ErrorCode; message: string; action?: string }
  );

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
export type ServerEventInput = DistributiveOmit<ServerEvent, 'id' | 'at'>;

export function serverEvent(
  input: ServerEventInput,
  meta: Partial<EventBase> = {},
  now: () => Date = () => new Date(),
): ServerEvent {
  return { ...input, id: meta.id ?? randomUUID(), at: meta.at ?? now().toISOString() } as ServerEvent;
}
