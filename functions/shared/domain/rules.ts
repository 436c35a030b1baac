/** Limits and naming rules of the chat protocol (documented in docs/protocol.md). */
export const MAX_MESSAGE_BYTES = 4096;
export const MAX_NICKNAME_LENGTH = 32;
export const MAX_ROOM_ID_LENGTH = 64;
/** `entered` lists at most this many nicknames (a frame must stay under API Gateway's 128 KB). */
export const MAX_LISTED_MEMBERS = 500;

/** Room ids are ASCII so they can be used verbatim as SQS FIFO MessageGroupIds. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Nicknames: letters, combining marks, digits and `_ . ' -`, single spaces between words.
 * No control, format (bidi overrides, zero-width) or other invisible characters.
 */
export const NICKNAME_PATTERN = /^[\p{L}\p{M}\p{N}_.'-]+(?: [\p{L}\p{M}\p{N}_.'-]+)*$/u;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Case- and normalisation-insensitive key used to keep nicknames unique within a room. */
export function nicknameKey(nickname: string): string {
  return nickname.normalize('NFKC').toLocaleLowerCase('und');
}
