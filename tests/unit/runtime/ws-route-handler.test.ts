import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  AlreadyInRoomError,
  BadRequestError,
  type ChatError,
  ConnectionNotFoundError,
  ForbiddenError,
  MessageTooLongError,
  NicknameTakenError,
  NotInRoomError,
  RateLimitedError,
  RoomRequiredError,
  UnknownActionError,
} from '../../../functions/shared/domain/errors';
import type { ServerEvent } from '../../../functions/shared/domain/protocol';
import { createLogger } from '../../../functions/shared/runtime/logger';
import { createMetrics } from '../../../functions/shared/runtime/metrics';
import { type RouteRequest, wsRoute } from '../../../functions/shared/runtime/ws-route-handler';
import { messageEvent } from '../../support/ws-events';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const context = (awsRequestId: string) => ({
  functionName: 'chat-SendMessageFunction-abc',
  memoryLimitInMB: '256',
  invokedFunctionArn: 'arn:aws:lambda:eu-north-1:123456789012:function:chat-SendMessageFunction-abc',
  awsRequestId,
});

function harness(run: (request: RouteRequest) => Promise<{ roomId?: string } | undefined>) {
  const lines: string[] = [];
  const metricLines: string[] = [];
  const handler = wsRoute(
    'sendmessage',
    createLogger('test', {}, (line) => lines.push(line)),
    run,
    createMetrics({ namespace: 'Test', write: (line) => metricLines.push(line) }),
  );
  const invoke = async (
    body: string | Record<string, unknown> | undefined,
    connectionId = 'conn-1=',
    requestId = 'req-1',
  ) =>
    (await handler(
      messageEvent('sendmessage', body, { connectionId }),
      context(requestId) as never,
    )) as APIGatewayProxyStructuredResultV2;
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const metrics = () => metricLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { invoke, logs, lines, metrics };
}

/** One route invocation rejected with not_in_room, another failed with an unexpected error. */
async function rejectedAndFailed() {
  const rejected = harness(async () => {
    throw new NotInRoomError('1');
  });
  const failed = harness(async () => {
    throw new Error('boom');
  });
  await rejected.invoke(frame);
  await failed.invoke(frame);
  return { rejected, failed };
}

const errorOf = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(result.body ?? '') as ServerEvent;
const frame = { action: 'sendmessage', roomId: '1', message: 'Hei' };

describe('wsRoute', () => {
  it('answers 200 without a body when the route succeeds', async () => {
    const { invoke } = harness(async () => ({ roomId: '1' }));

    await expect(invoke(frame)).resolves.toEqual({ statusCode: 200 });
  });

  it('hands the route the connection id and the parsed frame', async () => {
    const run = jest.fn(async (_request: RouteRequest) => undefined);
    const { invoke } = harness(run);

    await invoke(frame, 'abc=');

    expect(run).toHaveBeenCalledWith(expect.objectContaining({ connectionId: 'abc=', frame }));
  });

  describe('who is on the connection', () => {
    const identityFor = async (authorizer: Record<string, unknown>) => {
      const run = jest.fn(async (_request: RouteRequest) => undefined);
      const handler = wsRoute(
        'sendmessage',
        createLogger('test', {}, () => undefined),
        run,
      );
      await handler(messageEvent('sendmessage', frame, { authorizer: authorizer as never }));
      return run.mock.calls[0]?.[0].identity;
    };

    it('hands the route the identity the $connect authorizer gave (role, principal, sub, name)', async () => {
      await expect(
        identityFor({
          role: 'user',
          principalId: 'sub-1',
          sub: 'sub-1',
          name: 'Mikki Hiiri',
          integrationLatency: 3,
        }),
      ).resolves.toEqual({ role: 'user', principalId: 'sub-1', sub: 'sub-1', name: 'Mikki Hiiri' });
    });

    it('leaves out authorizer values that are missing, empty or not strings', async () => {
      await expect(identityFor({ role: 'admin', sub: '', name: 42, principalId: { x: 1 } })).resolves.toEqual(
        {
          role: 'admin',
        },
      );
    });

    it('hands an empty identity when there is no authorizer context', async () => {
      const run = jest.fn(async (_request: RouteRequest) => undefined);
      const handler = wsRoute(
        'sendmessage',
        createLogger('test', {}, () => undefined),
        run,
      );
      const event = messageEvent('sendmessage', frame);
      delete (event.requestContext as { authorizer?: unknown }).authorizer;

      await handler(event);

      expect(run.mock.calls[0]?.[0].identity).toEqual({});
    });
  });

  describe('the deadline', () => {
    const deadlineFor = async (remainingMs: number | undefined) => {
      jest.spyOn(Date, 'now').mockReturnValue(100_000);
      const run = jest.fn(async (_request: RouteRequest) => undefined);
      const handler = wsRoute(
        'sendmessage',
        createLogger('test', {}, () => undefined),
        run,
      );
      const context =
        remainingMs === undefined ? undefined : ({ getRemainingTimeInMillis: () => remainingMs } as Context);
      await handler(messageEvent('sendmessage', frame), context);
      return (run.mock.calls[0]?.[0].deadline ?? 0) - 100_000;
    };

    afterEach(() => jest.restoreAllMocks());

    it('leaves 2 s of the time the Lambda has left to settle and answer', async () => {
      await expect(deadlineFor(5_000)).resolves.toBe(3_000);
    });

    it('spends at most 6 s on a route, however long the Lambda may run', async () => {
      await expect(deadlineFor(30_000)).resolves.toBe(6_000);
    });

    it('is now when less than the margin is left', async () => {
      await expect(deadlineFor(1_500)).resolves.toBe(0);
    });

    it('assumes a 10 s Lambda without a context', async () => {
      await expect(deadlineFor(undefined)).resolves.toBe(6_000);
    });
  });

  it('logs one line per invocation with route, connection and outcome', async () => {
    const { invoke, logs } = harness(async () => ({ roomId: '1' }));

    await invoke(frame, 'abc=');

    expect(logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'ok',
        route: 'sendmessage',
        connectionId: 'abc=',
        roomId: '1',
      }),
    ]);
  });

  it('logs the Lambda context under the keys Powertools Logger uses', async () => {
    const { invoke, logs } = harness(async () => ({ roomId: '1' }));

    await invoke(frame, 'abc=', 'req-1');

    expect(logs()[0]).toMatchObject({
      function_request_id: 'req-1',
      function_name: 'chat-SendMessageFunction-abc',
      function_memory_size: 256,
      cold_start: expect.any(Boolean),
    });
  });

  it('counts an accepted frame in MessagesAccepted by route, flushed once per invocation', async () => {
    const { invoke, metrics } = harness(async () => ({ roomId: '1' }));

    await invoke(frame, 'abc=', 'req-7');

    expect(metrics()).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'Test',
              Dimensions: [['Route']],
              Metrics: [{ Name: 'MessagesAccepted', Unit: 'Count' }],
            },
          ],
        },
        Route: 'sendmessage',
        MessagesAccepted: 1,
        function_request_id: 'req-7',
      },
    ]);
  });

  it('counts a rejection by route and error code, and a failure as a route error', async () => {
    const { rejected, failed } = await rejectedAndFailed();

    expect(rejected.metrics()).toEqual([
      expect.objectContaining({ Route: 'sendmessage', Code: 'not_in_room', MessagesRejected: 1 }),
    ]);
    expect(failed.metrics()).toEqual([expect.objectContaining({ Route: 'sendmessage', RouteErrors: 1 })]);
    expect(JSON.stringify([...rejected.metrics(), ...failed.metrics()])).not.toContain('conn-1=');
  });

  it.each<[string, ChatError, number]>([
    ['bad_request', new BadRequestError('roomId is required'), 400],
    ['unknown_action', new UnknownActionError('dance'), 400],
    ['not_in_room', new NotInRoomError('1'), 400],
    ['room_required', new RoomRequiredError(['1', '2']), 400],
    ['already_in_room', new AlreadyInRoomError('1'), 400],
    ['nickname_taken', new NicknameTakenError('Mikki', '1'), 400],
    ['forbidden', new ForbiddenError(), 403],
    ['message_too_long', new MessageTooLongError(4096), 400],
    ['rate_limited', new RateLimitedError(30, 10), 429],
  ])('turns a %s error into one error event for the caller', async (code, error, status) => {
    const { invoke } = harness(async () => {
      throw error;
    });

    const result = await invoke(frame);

    expect(result.statusCode).toBe(status);
    const event = errorOf(result);
    expect(event).toEqual({
      type: 'error',
      code,
      message: error.message,
      action: 'sendmessage',
      id: expect.any(String),
      at: expect.any(String),
    });
    expect(event.id).toMatch(UUID);
    expect(new Date(event.at).toISOString()).toBe(event.at);
  });

  it('answers bad_request without an action for a frame that is not JSON, without running the route', async () => {
    const run = jest.fn(async () => undefined);
    const { invoke } = harness(run);

    const event = errorOf(await invoke('{"action":"sendmessage",'));

    expect(event).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(event).not.toHaveProperty('action');
    expect(run).not.toHaveBeenCalled();
  });

  it('answers bad_request for a frame with no body at all', async () => {
    const { invoke } = harness(async () => undefined);

    expect(errorOf(await invoke(undefined))).toMatchObject({ code: 'bad_request' });
  });

  it('leaves action out when the frame has no string action', async () => {
    const { invoke } = harness(async () => {
      throw new BadRequestError('nope');
    });

    expect(errorOf(await invoke({ action: 42 }))).not.toHaveProperty('action');
  });

  it('cuts an echoed action to 64 characters', async () => {
    const { invoke } = harness(async () => {
      throw new BadRequestError('nope');
    });

    const event = errorOf(await invoke({ action: 'x'.repeat(500) }));

    expect(event).toMatchObject({ action: 'x'.repeat(64) });
  });

  it('answers internal to an unexpected exception without leaking its message or stack', async () => {
    const secret = new Error(
      'ResourceNotFoundException: arn:aws:dynamodb:eu-north-1:123456789012:table/chat',
    );
    const { invoke } = harness(async () => {
      throw secret;
    });

    const result = await invoke(frame);

    expect(result.statusCode).toBe(500);
    const event = errorOf(result);
    expect(event).toMatchObject({ type: 'error', code: 'internal', action: 'sendmessage' });
    expect(result.body).not.toContain('ResourceNotFound');
    expect(result.body).not.toContain('123456789012');
    expect(result.body).not.toContain('at ');
  });

  it('answers internal to a thrown non-error value', async () => {
    const { invoke } = harness(async () => {
      throw 'just a string';
    });

    const result = await invoke(frame);

    expect(errorOf(result)).toMatchObject({ code: 'internal' });
    expect(result.body).not.toContain('just a string');
  });

  it('tells a connection that is no longer registered to reconnect, as internal', async () => {
    const { invoke } = harness(async () => {
      throw new ConnectionNotFoundError();
    });

    const result = await invoke(frame);

    expect(result.statusCode).toBe(500);
    expect(errorOf(result)).toMatchObject({ code: 'internal', message: expect.stringMatching(/reconnect/) });
  });

  it('logs a rejection at info with its code, and a failure at error with the exception', async () => {
    const { rejected, failed } = await rejectedAndFailed();

    expect(rejected.logs()).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'rejected', code: 'not_in_room' }),
    ]);
    expect(failed.logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'failed',
        error: expect.objectContaining({ message: 'boom' }),
      }),
    ]);
  });
});
