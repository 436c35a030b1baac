/**
 * `$default`: frames whose `action` matches no route, and frames that are not JSON at all.
 * Answers with one `error` event (`bad_request` for non-JSON, `unknown_action` otherwise).
 */
import { UnknownActionError } from '../shared/domain/errors.js';
import { createLogger } from '../shared/runtime/logger.js';
import { wsRoute } from '../shared/runtime/ws-route-handler.js';

export const handler = wsRoute('$default', createLogger('chat-default'), async ({ frame }) => {
  throw new UnknownActionError(typeof frame.action === 'string' ? frame.action : undefined);
});
