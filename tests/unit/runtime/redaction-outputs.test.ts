/**
 * Tokens never reach the local outputs either: the local stack's log and `npm run invoke`
 * (its stderr lines and its printed result) use the handlers' `redact`, at any depth.
 */
import { redact } from '../../../functions/shared/runtime/logger';
import { createMetrics } from '../../../functions/shared/runtime/metrics';
import { functionOutputLines, redactingSink, redactLine } from '../../../local/invocation-log';

const nested = (depth: number, leaf: Record<string, unknown>) => {
  let value: Record<string, unknown> = leaf;
  for (let i = 0; i < depth; i++) value = { [`k${i}`]: value };
  return value;
};

describe('the local log and npm run invoke', () => {
  it('redact a token key and a nested ?Auth= in a function’s JSON output line', () => {
    const line = JSON.stringify(
      nested(10, { token: 'tok-1-SECRET', url: 'wss://h/dev?Auth=tok-2-SECRET', level: 'error' }),
    );

    const shown = functionOutputLines('EnterRoomFunction', line, 'all').join('\n');

    expect(shown).not.toMatch(/SECRET/);
    expect(shown).toContain('Auth=[redacted]');
  });

  it('redact a result before npm run invoke prints it', () => {
    const result = nested(12, { idToken: 'tok-3-SECRET', context: { Authorization: 'Bearer tok-4-SECRET' } });

    expect(JSON.stringify(redact(result), null, 2)).not.toMatch(/SECRET/);
  });

  it('redact the stack’s own tokens and bearer tokens in any line, JSON or not', () => {
    const lines: string[] = [];
    const sink = redactingSink((line) => lines.push(line), ['local-chat-token-0000']);

    sink('connect wss://h/dev?Auth=local-chat-token-0000 with Bearer abc.def');
    sink(redactLine('{"token":"tok-5-SECRET","note":"local-chat-token-0000"}'));
    sink(redactLine('not json ?token=tok-6-SECRET'));

    expect(lines.join('\n')).not.toMatch(/SECRET|local-chat-token-0000|abc\.def/);
  });

  it('show warnings and errors whatever the case of their level, and hide info in errors mode', () => {
    expect(functionOutputLines('F', '{"level":"WARN","message":"slow"}', 'errors')).toHaveLength(1);
    expect(functionOutputLines('F', '{"level":"error","message":"x"}', 'errors')).toHaveLength(1);
    expect(functionOutputLines('F', '{"level":"INFO","message":"ok"}', 'errors')).toEqual([]);
    expect(functionOutputLines('F', 'plain text from console.log', 'errors')).toHaveLength(1);
  });

  it('show metrics lines shortened in all mode, and not at all in errors mode', () => {
    const lines: string[] = [];
    const metrics = createMetrics({ namespace: 'T', write: (line) => lines.push(line) });
    metrics.count('MessagesAccepted', 1, { Route: 'sendmessage' });
    metrics.flush({ awsRequestId: 'r' });
    const [line = ''] = lines;

    expect(functionOutputLines('SendMessageFunction', line, 'errors')).toEqual([]);
    expect(functionOutputLines('SendMessageFunction', line, 'all')).toEqual([
      '    SendMessageFunction | metrics Route="sendmessage" MessagesAccepted=1',
    ]);
  });
});
