/** `sendmessage`: {"action":"sendmessage","roomId":"1","message":"Hei kaikki!"} */
import { SendMessageBody, validate } from '../shared/domain/protocol.js';
import { createLogger } from '../shared/runtime/logger.js';
import { roomDeps } from '../shared/runtime/queue-deps.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';
import { sendMessage } from '../shared/use-cases/send-message.js';

const deps = roomDeps();

export const handler = wsRoute(
  'sendmessage',
  createLogger('chat-sendmessage'),
  async ({ connectionId, frame, deadline }) => {
    const { roomId, message } = validate(SendMessageBody, frame);
    const entry = await sendMessage(deps, { connectionId, roomId, message, deadline });
    return { roomId: entry.roomId };
  },
);
