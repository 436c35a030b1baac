import { createMetrics, DEFAULT_NAMESPACE, isMetricsLine } from '../../../functions/shared/runtime/metrics';

function metrics(options: { namespace?: string; service?: string } = {}) {
  const lines: string[] = [];
  const m = createMetrics({
    namespace: 'Chat',
    ...options,
    write: (line) => lines.push(line),
    now: () => 1_700_000_000_000,
  });
  return { m, lines, docs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createMetrics', () => {
  it('writes nothing until flushed, then one Embedded Metric Format line per dimension set', () => {
    const { m, lines, docs } = metrics({ service: 'chat-fanout' });

    m.count('Deliveries', 3);
    m.count('Deliveries', 2);
    m.timing('FanoutDuration', 12.5);
    m.count('MessagesAccepted', 1, { Route: 'sendmessage' });
    expect(lines).toEqual([]);
    m.flush({ awsRequestId: 'req-1' });

    expect(docs()).toEqual([
      {
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Chat',
              Dimensions: [[]],
              Metrics: [
                { Name: 'Deliveries', Unit: 'Count' },
                { Name: 'FanoutDuration', Unit: 'Milliseconds' },
              ],
            },
          ],
        },
        Deliveries: 5,
        FanoutDuration: 12.5,
        service: 'chat-fanout',
        function_request_id: 'req-1',
      },
      {
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [
            {
              Namespace: 'Chat',
              Dimensions: [['Route']],
              Metrics: [{ Name: 'MessagesAccepted', Unit: 'Count' }],
            },
          ],
        },
        Route: 'sendmessage',
        MessagesAccepted: 1,
        service: 'chat-fanout',
        function_request_id: 'req-1',
      },
    ]);
  });

  it('keeps every sample of a distribution as a value array', () => {
    const { m, docs } = metrics();

    m.sample('RoomSize', 4, 'Count');
    m.sample('RoomSize', 10, 'Count');
    m.timing('DeliveryLag', 30);
    m.flush();

    expect(docs()[0]).toMatchObject({ RoomSize: [4, 10], DeliveryLag: 30 });
  });

  it('splits more than 100 values of a metric over several lines, as EMF requires', () => {
    const { m, docs } = metrics();

    for (let i = 0; i < 250; i++) m.timing('FanoutDuration', i);
    m.count('Deliveries', 7);
    m.flush();

    const values = docs().map((d) => d.FanoutDuration as number[]);
    expect(values.map((v) => v.length)).toEqual([100, 100, 50]);
    expect(values.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(docs().filter((d) => 'Deliveries' in d)).toHaveLength(1);
  });

  it('forgets what it flushed, so each invocation reports only its own values', () => {
    const { m, docs } = metrics();

    m.count('Deliveries', 2);
    m.flush();
    m.flush();
    m.count('Deliveries', 1);
    m.flush();

    expect(docs().map((d) => d.Deliveries)).toEqual([2, 1]);
  });

  it('reports an explicit zero, and drops values that are not finite numbers', () => {
    const { m, docs } = metrics();

    m.count('FailedPosts', 0);
    m.timing('DeliveryLag', Number.NaN);
    m.flush();

    expect(docs()).toEqual([expect.objectContaining({ FailedPosts: 0 })]);
    expect(docs()[0]).not.toHaveProperty('DeliveryLag');
  });

  it('takes its namespace from METRICS_NAMESPACE, else a default', () => {
    const previous = process.env.METRICS_NAMESPACE;
    const namespaceOf = () => {
      const lines: string[] = [];
      const m = createMetrics({ write: (line) => lines.push(line) });
      m.count('X');
      m.flush();
      return (JSON.parse(lines[0] ?? '{}') as { _aws: { CloudWatchMetrics: { Namespace: string }[] } })._aws
        .CloudWatchMetrics[0]?.Namespace;
    };
    try {
      process.env.METRICS_NAMESPACE = 'websocket-chat-prod';
      expect(namespaceOf()).toBe('websocket-chat-prod');
      delete process.env.METRICS_NAMESPACE;
      expect(namespaceOf()).toBe(DEFAULT_NAMESPACE);
    } finally {
      if (previous === undefined) delete process.env.METRICS_NAMESPACE;
      else process.env.METRICS_NAMESPACE = previous;
    }
  });

  it('warns once, at cold start, when Lambda’s log level would drop its lines', () => {
    const previous = process.env.AWS_LAMBDA_LOG_LEVEL;
    try {
      process.env.AWS_LAMBDA_LOG_LEVEL = 'WARN';
      const quiet = metrics();
      process.env.AWS_LAMBDA_LOG_LEVEL = 'INFO';
      const normal = metrics();

      expect(quiet.docs()).toEqual([
        expect.objectContaining({ level: 'WARN', message: expect.stringContaining('drops') }),
      ]);
      expect(normal.lines).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.AWS_LAMBDA_LOG_LEVEL;
      else process.env.AWS_LAMBDA_LOG_LEVEL = previous;
    }
  });
});

describe('isMetricsLine', () => {
  it('tells an EMF document from a log entry', () => {
    const { m, docs } = metrics();
    m.count('X');
    m.flush();

    expect(isMetricsLine(docs()[0])).toBe(true);
    expect(isMetricsLine({ level: 'INFO', message: 'ok' })).toBe(false);
    expect(isMetricsLine(null)).toBe(false);
  });
});
