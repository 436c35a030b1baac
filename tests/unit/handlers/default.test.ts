/** functions/default/handler.ts: needs no AWS service, so it is tested here with its real module. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { WsHandler } from '../../../functions/shared/runtime/ws-route-handler';
import { captureStdout } from '../../support/capture-logs';
import { loadHandler } from '../../support/load-handler';
import { messageEvent } from '../../support/ws-events';

describe('$default handler', () => {
  let logs: ReturnType<typeof captureStdout>;
  let handler: WsHandler;

  beforeEach(() => {
    logs = captureStdout();
    ({ handler } = loadHandler<{ handler: WsHandler }>('default'));
  });

  afterEach(() => {
    logs.restore();
  });

  const invoke = async (body: string | Record<string, unknown> | undefined) => {
    const result = (await handler(messageEvent('$default', body))) as APIGatewayProxyStructuredResultV2;
    return { status: result.statusCode, event: JSON.parse(result.body ?? '{}') as Record<string, unknown> };
  };

  it('answers an unknown action with unknown_action, naming the action', async () => {
    const { status, event } = await invoke({ action: 'dance', roomId: '1' });

    expect(status).toBe(400);
    expect(event).toMatchObject({ type: 'error', code: 'unknown_action', action: 'dance' });
    expect(event.message).toContain('dance');
  });

  it('answers a JSON object without an action with unknown_action', async () => {
    const { event } = await invoke({ roomId: '1' });

    expect(event).toMatchObject({ type: 'error', code: 'unknown_action' });
    expect(event).not.toHaveProperty('action');
  });

  it('answers a frame that is not JSON with bad_request', async () => {
    const { event } = await invoke('hello there');

    expect(event).toMatchObject({ type: 'error', code: 'bad_request' });
  });

  it('answers a JSON array with bad_request', async () => {
    const { event } = await invoke('[{"action":"enterroom"}]');

    expect(event).toMatchObject({ type: 'error', code: 'bad_request' });
  });

  it('keeps an echoed unknown action short', async () => {
    const { event } = await invoke({ action: 'a'.repeat(1000) });

    expect(String(event.message).length).toBeLessThan(200);
    expect(String(event.action)).toHaveLength(64);
  });
});
