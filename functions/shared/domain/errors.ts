/**
 * Typed domain errors. Each carries the stable protocol `code` it maps to; the edge
 * (runtime/ws-route-handler.ts) turns them into the `error` event. Anything else is `internal`.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unknown_action'
  | 'not_in_room'
  | 'room_required'
  | 'already_in_room'
  | 'nickname_taken'
  | 'forbidden'
  | 'message_too_long'
  | 'rate_limited'
  | 'internal';

export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends ChatError {
  constructor(message: string) {
    super('bad_request', message);
  }
}

export class UnknownActionError extends ChatError {
  constructor(action: string | undefined) {
    super(
      'unknown_action',
      action === undefined
        ? 'Frames must be JSON objects with an "action" field.'
        : `Unknown action "${action.slice(0, 64)}". Use enterroom, exitroom, sendmessage, history or broadcast.`,
    );
  }
}

export class NotInRoomError extends ChatError {
  constructor(roomId?: string) {
    super(
      'not_in_room',
      roomId === undefined ? 'You are not in any room.' : `You are not in room "${roomId}".`,
    );
  }
}

export class RoomRequiredError extends ChatError {
  constructor(rooms: readonly string[]) {
    super('room_required', `You are in ${rooms.length} rooms; say which one with "roomId".`);
  }
}

export class AlreadyInRoomError extends ChatError {
  constructor(roomId: string) {
    super('already_in_room', `You are already in room "${roomId}".`);
  }
}

export class NicknameTakenError extends ChatError {
  constructor(nickname: string, roomId: string) {
    super('nickname_taken', `The nickname "${nickname}" is already taken in room "${roomId}".`);
  }
}

export class ForbiddenError extends ChatError {
  constructor(message = 'Only admins may do that.') {
    super('forbidden', message);
  }
}

export class MessageTooLongError extends ChatError {
  constructor(maxBytes: number) {
    super('message_too_long', `Messages are limited to ${maxBytes} bytes of UTF-8.`);
  }
}

export class RateLimitedError extends ChatError {
  constructor(limit: number, windowSeconds: number, what = 'messages') {
    super('rate_limited', `Slow down: at most ${limit} ${what} per ${windowSeconds} s.`);
  }
}

/** The connection record is gone (e.g. TTL-expired or removed after a 410); the client should reconnect. */
export class ConnectionNotFoundError extends ChatError {
  constructor() {
    super('internal', 'Your connection is no longer registered; please reconnect.');
  }
}
