import { createHash } from 'node:crypto';

/**
 * The stable sender id a message carries (`fromId`), so clients can tell two people apart
 * even when their nicknames look alike: derived from the signed-in user (`sub`) in jwt mode,
 * from the connection in token mode (where everyone shares one token). Never the raw `sub`.
 */
export function fromIdOf(identity: { sub?: string | undefined }, connectionId: string): string {
  const source = identity.sub ? `sub\0${identity.sub}` : `conn\0${connectionId}`;
  return createHash('sha256').update(source).digest('base64url').slice(0, 22);
}
