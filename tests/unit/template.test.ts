/**
 * Reads template.yaml (short-form intrinsics included) and checks the wiring that a deploy
 * would only reveal later: every route reaches an existing handler, the authorizer, the
 * FIFO/DLQ settings, the fanout's event source, the table, the build metadata, the IAM
 * scoping, log retention, secrets and outputs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONNECTION_INDEX } from '../../functions/shared/adapters/dynamodb/table-layout';
import { REPO_ROOT } from '../../local/repo-root';
import { evaluate } from '../../local/template/intrinsics';
import { type CfnResource, type CfnTemplate, loadTemplate } from '../support/cfn-yaml';

const template: CfnTemplate = loadTemplate();
const resources = template.Resources;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const props = (id: string): Record<string, unknown> => {
  const resource = resources[id];
  if (!resource) throw new Error(`template.yaml has no resource ${id}`);
  return resource.Properties ?? {};
};
const subText = (value: unknown): string => {
  const sub = (value as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub) && typeof sub[0] === 'string') return sub[0];
  throw new Error(`expected !Sub, got ${JSON.stringify(value)}`);
};
const refOf = (value: unknown) => (value as { Ref?: string } | undefined)?.Ref;
const getAtt = (value: unknown) => (value as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt'];

const functions = ofType('AWS::Serverless::Function');
const functionIds = functions.map(([id]) => id);
const globals = template.Globals?.Function ?? {};
const functionProp = (id: string, name: string) => props(id)[name] ?? globals[name];

const ROUTES = [
  '$connect',
  '$disconnect',
  '$default',
  'enterroom',
  'exitroom',
  'sendmessage',
  'history',
  'broadcast',
];
const MESSAGE_ROUTES = ['$default', 'enterroom', 'exitroom', 'sendmessage', 'history', 'broadcast'];
const API = 'ChatApi';

function routeResource(routeKey: string): [string, CfnResource] {
  const found = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties?.RouteKey === routeKey);
  if (!found) throw new Error(`no route ${routeKey}`);
  return found;
}

/** The logical id of the function a `!Sub ...${Fn.Arn}/invocations` URI points at. */
function functionInUri(uri: unknown): string {
  const match = /\$\{(\w+)\.Arn\}\/invocations$/.exec(subText(uri));
  if (!match?.[1]) throw new Error(`no function in ${JSON.stringify(uri)}`);
  return match[1];
}

function functionOfRoute(routeKey: string): string {
  const [, route] = routeResource(routeKey);
  const integrationId = /^integrations\/\$\{(\w+)\}$/.exec(subText(route.Properties?.Target))?.[1];
  if (!integrationId) throw new Error(`route ${routeKey} has no integration target`);
  const integration = props(integrationId);
  expect(resources[integrationId]?.Type).toBe('AWS::ApiGatewayV2::Integration');
  expect(integration.IntegrationType).toBe('AWS_PROXY');
  expect(refOf(integration.ApiId)).toBe(API);
  return functionInUri(integration.IntegrationUri);
}

/** The function's single entry point, relative to the repository (EntryPoints are relative to CodeUri). */
function entryPointOf(functionId: string): string {
  const build = resources[functionId]?.Metadata?.BuildProperties as { EntryPoints?: string[] } | undefined;
  const [entry, ...more] = build?.EntryPoints ?? [];
  expect(more).toEqual([]);
  if (!entry) throw new Error(`${functionId} has no EntryPoints`);
  return path.posix.normalize(path.posix.join(String(props(functionId).CodeUri ?? '.'), entry));
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** A policy entry, or both branches of an `!If [Condition, policy, !Ref AWS::NoValue]` entry. */
const policyBranches = (policy: unknown): unknown[] => {
  const branches = (policy as { 'Fn::If'?: unknown[] })['Fn::If'];
  if (!branches) return [policy];
  return branches.slice(1).filter((branch) => refOf(branch) !== 'AWS::NoValue');
};

function statementsOf(functionId: string): Statement[] {
  const policies = ((props(functionId).Policies ?? []) as unknown[]).flatMap(policyBranches);
  return policies.flatMap((policy) => {
    const statements = (policy as { Statement?: Statement[] }).Statement;
    if (!statements) throw new Error(`${functionId} uses a policy that is not an inline statement list`);
    return statements;
  });
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const allowedActions = (functionId: string) =>
  statementsOf(functionId)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => list(s.Action));

describe('the WebSocket API', () => {
  it('routes on the action field of a JSON frame', () => {
    expect(props(API)).toMatchObject({
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it.each(ROUTES)('has the %s route on this API', (routeKey) => {
    const [, route] = routeResource(routeKey);

    expect(refOf(route.Properties?.ApiId)).toBe(API);
  });

  it.each(ROUTES)(
    'sends %s through a Lambda proxy integration to a function whose entry point exists',
    (routeKey) => {
      const functionId = functionOfRoute(routeKey);

      expect(resources[functionId]?.Type).toBe('AWS::Serverless::Function');
      expect(existsSync(path.join(REPO_ROOT, entryPointOf(functionId)))).toBe(true);
    },
  );

  it('gives every route its own function', () => {
    expect(new Set(ROUTES.map(functionOfRoute)).size).toBe(ROUTES.length);
  });

  it.each(ROUTES)('lets API Gateway invoke the %s function only from this API and route', (routeKey) => {
    const functionId = functionOfRoute(routeKey);
    const permissions = ofType('AWS::Lambda::Permission').filter(
      ([, p]) => refOf(p.Properties?.FunctionName) === functionId,
    );

    expect(permissions).toHaveLength(1);
    const permission = permissions[0]?.[1].Properties ?? {};
    expect(permission).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
    });
    expect(subText(permission.SourceArn)).toMatch(
      new RegExp(
        `:execute-api:\\$\\{AWS::Region\\}:\\$\\{AWS::AccountId\\}:\\$\\{${API}\\}/[^/]+/${routeKey.replace('$', '\\$')}$`,
      ),
    );
  });

  it.each(MESSAGE_ROUTES)(
    'answers %s frames to the caller (a two-way route with a $default route response)',
    (routeKey) => {
      const [routeId, route] = routeResource(routeKey);
      const responses = ofType('AWS::ApiGatewayV2::RouteResponse').filter(
        ([, r]) => refOf(r.Properties?.RouteId) === routeId,
      );

      expect(route.Properties?.RouteResponseSelectionExpression).toBe('$default');
      expect(responses.map(([, r]) => r.Properties?.RouteResponseKey)).toEqual(['$default']);
    },
  );

  it('deploys a stage named by the Stage parameter automatically, after every route and route response exists', () => {
    const stages = ofType('AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const [, stage] = stages[0] as [string, CfnResource];
    const ofApi = (type: string) =>
      ofType(type)
        .filter(([, r]) => refOf(r.Properties?.ApiId) === API)
        .map(([id]) => id);

    expect(refOf(stage.Properties?.StageName)).toBe('Stage');
    expect(stage.Properties?.AutoDeploy).toBe(true);
    expect(ofApi('AWS::ApiGatewayV2::RouteResponse').length).toBeGreaterThanOrEqual(MESSAGE_ROUTES.length);
    expect(new Set(list(stage.DependsOn ?? []))).toEqual(
      new Set([...ofApi('AWS::ApiGatewayV2::Route'), ...ofApi('AWS::ApiGatewayV2::RouteResponse')]),
    );
  });
});

describe('the $connect authorizer', () => {
  const [, connect] = routeResource('$connect');
  const authorizerId = refOf(connect.Properties?.AuthorizerId) ?? '';

  it('guards $connect with a custom authorizer', () => {
    expect(connect.Properties?.AuthorizationType).toBe('CUSTOM');
    expect(resources[authorizerId]?.Type).toBe('AWS::ApiGatewayV2::Authorizer');
  });

  it('is a REQUEST authorizer whose identity source is the Auth query parameter', () => {
    expect(props(authorizerId)).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.Auth'],
    });
    expect(refOf(props(authorizerId).ApiId)).toBe(API);
  });

  it('runs the authorizer function, which API Gateway may invoke only for this authorizer', () => {
    const functionId = functionInUri(props(authorizerId).AuthorizerUri);
    const permission = ofType('AWS::Lambda::Permission').find(
      ([, p]) => refOf(p.Properties?.FunctionName) === functionId,
    );

    expect(entryPointOf(functionId)).toBe('functions/authorizer/handler.ts');
    expect(subText(permission?.[1].Properties?.SourceArn)).toMatch(
      new RegExp(`\\$\\{${API}\\}/authorizers/\\$\\{${authorizerId}\\}$`),
    );
  });

  it('leaves the other routes without authorization (the connection was authorized once)', () => {
    for (const routeKey of ROUTES.filter((r) => r !== '$connect')) {
      expect(routeResource(routeKey)[1].Properties?.AuthorizationType).toBe('NONE');
    }
  });
});

describe('the room events queue', () => {
  const queue = props('RoomEventsQueue');
  const dlqId =
    getAtt((queue.RedrivePolicy as { deadLetterTargetArn?: unknown })?.deadLetterTargetArn)?.[0] ?? '';
  const fanoutTimeout = Number(functionProp('FanoutFunction', 'Timeout'));

  it('is FIFO and deduplicates by the event id the publisher sets, not by content', () => {
    expect(queue.FifoQueue).toBe(true);
    expect(queue.ContentBasedDeduplication).toBe(false);
  });

  it('redrives to a FIFO dead-letter queue after a few receives', () => {
    expect(resources[dlqId]?.Type).toBe('AWS::SQS::Queue');
    expect(props(dlqId).FifoQueue).toBe(true);
    expect(getAtt((queue.RedrivePolicy as { deadLetterTargetArn?: unknown }).deadLetterTargetArn)).toEqual([
      dlqId,
      'Arn',
    ]);
    const maxReceiveCount = refOf((queue.RedrivePolicy as { maxReceiveCount?: unknown }).maxReceiveCount);
    expect(maxReceiveCount).toBe('MaxReceiveCount');
    expect(template.Parameters?.MaxReceiveCount?.Default).toBeGreaterThanOrEqual(1);
  });

  it('tells the fanout how many failed attempts before it parks an event, and the dead-letter queue', () => {
    const env = (props('FanoutFunction').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(refOf(env.MAX_ATTEMPTS)).toBe('MaxAttempts');
    expect(refOf(env.DEAD_LETTER_QUEUE_URL)).toBe(dlqId);
  });

  it("keeps SQS's redrive a backstop: a record behind a failing one may be received MaxAttempts x BatchSize times before its own turn", () => {
    const events = Object.values((props('FanoutFunction').Events ?? {}) as Record<string, CfnResource>);
    const batchSize = Number((events[0]?.Properties as { BatchSize?: unknown } | undefined)?.BatchSize);
    const attempts = Number(template.Parameters?.MaxAttempts?.Default);
    expect(Number(template.Parameters?.MaxReceiveCount?.Default)).toBeGreaterThanOrEqual(
      attempts * batchSize,
    );
  });

  it('lets the fanout bring a failed record back sooner (ChangeMessageVisibility on the room events queue only)', () => {
    const statements = statementsOf('FanoutFunction').filter((s) =>
      list(s.Action).includes('sqs:ChangeMessageVisibility'),
    );
    expect(statements.flatMap((s) => list(s.Resource)).map(getAtt)).toEqual([['RoomEventsQueue', 'Arn']]);
  });

  it('keeps room events for the history retention (HistoryRetentionDays, 7 by default)', () => {
    const env = (props('FanoutFunction').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(refOf(env.HISTORY_RETENTION_DAYS)).toBe('HistoryRetentionDays');
    expect(template.Parameters?.HistoryRetentionDays).toMatchObject({ Default: 7, MinValue: 1 });
  });

  it('keeps messages invisible for at least six times the fanout timeout', () => {
    expect(fanoutTimeout).toBeGreaterThan(0);
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * fanoutTimeout);
  });

  it('feeds the fanout with partial batch responses and a maximum concurrency', () => {
    const events = Object.values((props('FanoutFunction').Events ?? {}) as Record<string, CfnResource>);
    const sqs = events.filter((e) => e.Type === 'SQS');

    expect(sqs).toHaveLength(1);
    const source = sqs[0]?.Properties ?? {};
    expect(getAtt(source.Queue)).toEqual(['RoomEventsQueue', 'Arn']);
    expect(source.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect((source.ScalingConfig as { MaximumConcurrency?: unknown })?.MaximumConcurrency).toBeDefined();
    expect(Number(source.BatchSize)).toBeLessThanOrEqual(10);
  });

  it('never lets the maximum concurrency go below the SQS minimum of 2', () => {
    const source = Object.values((props('FanoutFunction').Events ?? {}) as Record<string, CfnResource>)[0];
    const value = (source?.Properties?.ScalingConfig as { MaximumConcurrency?: unknown } | undefined)
      ?.MaximumConcurrency;
    const parameter = refOf(value);
    const minimum = parameter ? template.Parameters?.[parameter]?.MinValue : value;

    expect(Number(minimum)).toBeGreaterThanOrEqual(2);
  });
});

describe('the chat table', () => {
  const table = props('ChatTable');

  it('is on-demand', () => {
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('expires items on the ttl attribute the adapter writes', () => {
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
  });

  it('has the keys-only connection index the adapter queries for broadcast', () => {
    const indexes = (table.GlobalSecondaryIndexes ?? []) as { IndexName: string; Projection: unknown }[];

    expect(indexes.map((i) => i.IndexName)).toContain(CONNECTION_INDEX);
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
  });
});

describe('the functions', () => {
  it('exist for every route plus the authorizer and the fanout', () => {
    expect(functionIds).toHaveLength(ROUTES.length + 2);
  });

  it.each(functionIds)('%s runs on Node.js 22 or 24 on arm64', (id) => {
    expect(['nodejs22.x', 'nodejs24.x']).toContain(functionProp(id, 'Runtime'));
    expect(functionProp(id, 'Architectures')).toEqual(['arm64']);
  });

  it.each(functionIds)(
    '%s is built by esbuild, minified with source maps, leaving the SDK to the layer',
    (id) => {
      const resource = resources[id] as CfnResource;
      const build = resource.Metadata?.BuildProperties as Record<string, unknown>;

      expect(resource.Metadata?.BuildMethod).toBe('esbuild');
      expect(build).toMatchObject({ Minify: true, Sourcemap: true, External: ['@aws-sdk/*'] });
      expect(props(id).Handler).toBe('handler.handler');
      expect(entryPointOf(id)).toMatch(/^functions\/[\w-]+\/handler\.ts$/);
      expect(existsSync(path.join(REPO_ROOT, entryPointOf(id)))).toBe(true);
    },
  );

  it.each(functionIds)('%s uses the AWS SDK layer', (id) => {
    const layers = (functionProp(id, 'Layers') ?? []) as unknown[];

    expect(layers.map(refOf)).toContain('AwsSdkLayer');
  });

  it('builds the layer from a package whose SDK versions are the ones the tests run with', () => {
    const layer = props('AwsSdkLayer');
    const layerDir = path.join(REPO_ROOT, String(layer.ContentUri));
    const layerPackage = JSON.parse(readFileSync(path.join(layerDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const sdkDeps = Object.keys(rootPackage.dependencies).filter((d) => d.startsWith('@aws-sdk/'));

    expect(Object.keys(layerPackage.dependencies).sort()).toEqual(sdkDeps.sort());
    for (const name of sdkDeps) {
      expect(`${name}@${layerPackage.dependencies[name]}`).toBe(
        `${name}@${lock.packages[`node_modules/${name}`]?.version}`,
      );
    }
  });

  it.each(functionIds)(
    '%s logs JSON to its own log group, named for the stack (not /aws/lambda/<function>), with retention',
    (id) => {
      const logging = {
        ...(globals.LoggingConfig as Record<string, unknown>),
        ...(props(id).LoggingConfig as Record<string, unknown>),
      };
      const groupId = refOf(logging.LogGroup) ?? '';
      const group = props(groupId);

      expect(resources[groupId]?.Type).toBe('AWS::Logs::LogGroup');
      expect(subText(group.LogGroupName)).toMatch(/^\/chat\/\$\{AWS::StackName\}\/[a-z]+$/);
      expect(refOf(group.RetentionInDays)).toBe('LogRetentionInDays');
      expect(logging.LogFormat).toBe('JSON');
      expect(refOf(logging.ApplicationLogLevel)).toBe('LogLevel');
    },
  );

  it('gives every function a log group of its own', () => {
    const groups = functionIds.map((id) =>
      refOf((props(id).LoggingConfig as { LogGroup?: unknown })?.LogGroup),
    );
    const names = ofType('AWS::Logs::LogGroup').map(([, g]) => subText(g.Properties?.LogGroupName));

    expect(new Set(groups).size).toBe(functionIds.length);
    expect(new Set(names).size).toBe(names.length);
  });

  it('takes the application log level from LoggingConfig only (no LOG_LEVEL variable)', () => {
    const parameter = template.Parameters?.LogLevel as { Default?: string; AllowedValues?: string[] };
    const variables = (globals.Environment as { Variables?: Record<string, unknown> }).Variables ?? {};

    expect(parameter.Default).toBe('INFO');
    expect(parameter.AllowedValues).toEqual(expect.arrayContaining(['DEBUG', 'INFO', 'WARN', 'ERROR']));
    expect(variables).not.toHaveProperty('LOG_LEVEL');
    for (const id of functionIds) {
      expect(
        (props(id).Environment as { Variables?: object } | undefined)?.Variables ?? {},
      ).not.toHaveProperty('LOG_LEVEL');
    }
  });

  it('makes X-Ray tracing a parameter, off by default', () => {
    const parameter = template.Parameters?.Tracing as { Default?: string; AllowedValues?: string[] };

    expect(refOf(globals.Tracing)).toBe('Tracing');
    expect(parameter.Default).toBe('Disabled');
    expect(parameter.AllowedValues).toEqual(['Disabled', 'Active']);
  });

  it.each([
    ['ConnectFunction', ['TABLE_NAME']],
    ['DisconnectFunction', ['TABLE_NAME', 'QUEUE_URL']],
    ['EnterRoomFunction', ['TABLE_NAME', 'QUEUE_URL']],
    ['ExitRoomFunction', ['TABLE_NAME', 'QUEUE_URL']],
    ['SendMessageFunction', ['TABLE_NAME', 'QUEUE_URL']],
    ['BroadcastFunction', ['TABLE_NAME', 'QUEUE_URL']],
    ['FanoutFunction', ['TABLE_NAME', 'QUEUE_URL', 'CONNECTIONS_URL']],
    [
      'AuthorizerFunction',
      ['AUTH_MODE', 'CHAT_AUTH_TOKEN', 'ADMIN_AUTH_TOKEN', 'JWT_ISSUER', 'JWT_AUDIENCE'],
    ],
  ])('gives %s the environment its cold start requires', (id, names) => {
    const variables =
      (props(id).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};

    expect(Object.keys(variables)).toEqual(expect.arrayContaining(names));
  });
});

describe('IAM', () => {
  const allStatements = functionIds.flatMap((id) => statementsOf(id).map((s) => [id, s] as const));

  it("matches docs/security.md's IAM table: each function's actions, no more and no fewer", () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'security.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## IAM'), doc.indexOf('\n## ', doc.indexOf('## IAM') + 1));
    const cells = (line: string) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| function') && !line.startsWith('| ---'))
      .map(cells);
    const documented = Object.fromEntries(
      rows.map(([name = '', dynamodb = '', sqs = '', other = '']) => {
        const names = (cell: string, service: string) =>
          cell === '—' ? [] : cell.split(',').map((action) => `${service}:${action.trim()}`);
        const others = [...other.matchAll(/`([a-z-]+:[A-Za-z]+)`/g)].map((m) => m[1]);
        return [`${name}Function`, [...names(dynamodb, 'dynamodb'), ...names(sqs, 'sqs'), ...others].sort()];
      }),
    );
    const granted = Object.fromEntries(
      functionIds.map((id) => [id, [...new Set(allowedActions(id))].sort()]),
    );

    expect(documented).toEqual(granted);
  });

  it('names a resource in every statement (no Resource: "*")', () => {
    for (const [, statement] of allStatements) {
      for (const resource of list(statement.Resource)) expect(resource).not.toBe('*');
    }
  });

  it('allows DynamoDB actions only on the chat table and its indexes', () => {
    for (const [, s] of allStatements.filter(([, s]) =>
      list(s.Action).some((a) => a.startsWith('dynamodb:')),
    )) {
      for (const resource of list(s.Resource)) {
        const onTable = JSON.stringify(getAtt(resource)) === JSON.stringify(['ChatTable', 'Arn']);
        const onIndex = /^\$\{ChatTable\.Arn\}\/index\/[\w-]+$/.test(
          (resource as { 'Fn::Sub'?: string })['Fn::Sub'] ?? '',
        );
        expect(onTable || onIndex).toBe(true);
      }
    }
  });

  it('allows SQS only to send to the room events queue (and, for the fanout, to its dead-letter queue)', () => {
    for (const [functionId, s] of allStatements.filter(([, s]) =>
      list(s.Action).some((a) => a === 'sqs:SendMessage'),
    )) {
      expect(list(s.Action)).toEqual(['sqs:SendMessage']);
      expect(list(s.Resource).map(getAtt)).toEqual(
        functionId === 'FanoutFunction'
          ? [
              ['RoomEventsQueue', 'Arn'],
              ['RoomEventsDeadLetterQueue', 'Arn'],
            ]
          : [['RoomEventsQueue', 'Arn']],
      );
    }
  });

  it('allows execute-api:ManageConnections only to the fanout and history, only for POST @connections on this stage', () => {
    const manage = allStatements.filter(([, s]) => list(s.Action).some((a) => a.startsWith('execute-api:')));

    expect(manage.map(([id]) => id).sort()).toEqual(['FanoutFunction', 'HistoryFunction']);
    for (const [, statement] of manage) {
      expect(list(statement.Action)).toEqual(['execute-api:ManageConnections']);
      expect(list(statement.Resource).map(subText)).toEqual([
        `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${API}}/\${Stage}/POST/@connections/*`,
      ]);
    }
  });

  it('grants no action outside DynamoDB, SQS and execute-api (but for the authorizer reading its tokens)', () => {
    for (const [id, s] of allStatements) {
      for (const action of list(s.Action)) {
        if (id === 'AuthorizerFunction')
          expect(action).toMatch(/^(secretsmanager:GetSecretValue|ssm:GetParameters)$/);
        else expect(action).toMatch(/^(dynamodb|sqs|execute-api):\w+$/);
      }
    }
  });

  it('lets the authorizer read only the named secret or parameters, and only when TokenSource says so', () => {
    const policies = (props('AuthorizerFunction').Policies ?? []) as {
      'Fn::If': [string, unknown, unknown];
    }[];

    expect(policies.map((p) => [p['Fn::If'][0], refOf(p['Fn::If'][2])])).toEqual([
      ['TokensInSecretsManager', 'AWS::NoValue'],
      ['TokensInSsm', 'AWS::NoValue'],
    ]);
    expect(statementsOf('AuthorizerFunction').map((s) => [list(s.Action), subText(s.Resource)])).toEqual([
      [
        ['secretsmanager:GetSecretValue'],
        `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:\${TokenSourceName}-??????`,
      ],
      [
        ['ssm:GetParameters'],
        `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter\${TokenSourceName}/*`,
      ],
    ]);
  });

  it.each([
    ['ConnectFunction', ['dynamodb:PutItem']],
    [
      'DisconnectFunction',
      [
        'dynamodb:Query',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'sqs:SendMessage',
      ],
    ],
    [
      'EnterRoomFunction',
      [
        'dynamodb:ConditionCheckItem',
        'dynamodb:PutItem',
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'sqs:SendMessage',
      ],
    ],
    ['ExitRoomFunction', ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'sqs:SendMessage']],
    ['SendMessageFunction', ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'sqs:SendMessage']],
    [
      'HistoryFunction',
      ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'execute-api:ManageConnections'],
    ],
    ['BroadcastFunction', ['dynamodb:GetItem', 'sqs:SendMessage']],
    [
      'FanoutFunction',
      [
        'dynamodb:Query',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem',
        'sqs:SendMessage',
        'sqs:ChangeMessageVisibility',
        'execute-api:ManageConnections',
      ],
    ],
    ['DefaultFunction', []],
  ])('grants %s the actions its code path calls', (id, actions) => {
    expect(allowedActions(id)).toEqual(expect.arrayContaining(actions));
    if (actions.length === 0) expect(allowedActions(id)).toEqual([]);
  });

  it('lets the fanout query the connection index', () => {
    const resourcesForQuery = statementsOf('FanoutFunction')
      .filter((s) => list(s.Action).includes('dynamodb:Query'))
      .flatMap((s) => list(s.Resource));

    expect(resourcesForQuery).toContainEqual({ 'Fn::Sub': `\${ChatTable.Arn}/index/${CONNECTION_INDEX}` });
  });
});

describe('parameters and outputs', () => {
  it.each(['ChatAuthToken', 'AdminAuthToken'])('hides the %s parameter (NoEcho)', (name) => {
    expect(template.Parameters?.[name]?.NoEcho).toBe(true);
  });

  it('takes "none" for "no admins" (sam deploy --guided re-prompts on an empty NoEcho answer)', () => {
    expect(template.Parameters?.AdminAuthToken?.Default).toBe('none');
  });

  it.each(['ChatAuthToken', 'AdminAuthToken'])(
    '%s accepts "none" or 16+ characters without spaces, never a space or a short token',
    (name) => {
      const pattern = new RegExp(String(template.Parameters?.[name]?.AllowedPattern));

      for (const good of ['none', 'x'.repeat(16), 'local-chat-token-change-me', 'A1!b2@c3#d4$e5%f6^']) {
        expect(pattern.test(good)).toBe(true);
      }
      for (const bad of ['', ' ', '   ', 'x'.repeat(15), 'sixteen chars ok', ` ${'x'.repeat(16)}`, 'None']) {
        expect(pattern.test(bad)).toBe(false);
      }
    },
  );

  it('passes the tokens to the authorizer only', () => {
    const holders = functionIds.filter((id) =>
      JSON.stringify(props(id).Environment ?? {}).includes('AuthToken'),
    );

    expect(holders).toEqual(['AuthorizerFunction']);
  });

  it('defaults the Stage parameter to dev', () => {
    expect(template.Parameters?.Stage?.Default).toBe('dev');
  });

  it('outputs the wss:// URL of the stage', () => {
    expect(subText(template.Outputs?.WebSocketUrl?.Value)).toMatch(
      /^wss:\/\/\$\{ChatApi\}\.execute-api\..*\/\$\{Stage\}$/,
    );
  });

  it('outputs the @connections endpoint as the SDK takes it (the stage URL, without /@connections)', () => {
    const endpoint = subText(template.Outputs?.ConnectionsEndpoint?.Value);
    const env = (props('FanoutFunction').Environment as { Variables: Record<string, unknown> }).Variables;

    expect(endpoint).toMatch(/^https:\/\/\$\{ChatApi\}\.execute-api\..*\/\$\{Stage\}$/);
    expect(subText(env.CONNECTIONS_URL)).toBe(endpoint);
    expect(template.Outputs).not.toHaveProperty('ConnectionsUrl');
  });

  it('outputs the table and queue names, and the URLs of both queues', () => {
    expect(refOf(template.Outputs?.TableName?.Value)).toBe('ChatTable');
    expect(getAtt(template.Outputs?.QueueName?.Value)).toEqual(['RoomEventsQueue', 'QueueName']);
    expect(refOf(template.Outputs?.QueueUrl?.Value)).toBe('RoomEventsQueue');
    expect(refOf(template.Outputs?.DeadLetterQueueUrl?.Value)).toBe('RoomEventsDeadLetterQueue');
  });

  it('outputs the dashboard URL', () => {
    expect(subText(template.Outputs?.DashboardUrl?.Value)).toMatch(
      /^https:\/\/.*console\.aws\.amazon\.com\/cloudwatch\/.*\$\{ChatDashboard\}$/,
    );
  });
});

describe('alarms', () => {
  const alarms = ofType('AWS::CloudWatch::Alarm');
  const alarm = (id: string) => props(id);
  /** The metrics an alarm watches: its own, or those of its metric math. */
  const watched = (id: string) => {
    const p = alarm(id);
    if (p.MetricName) return [{ Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: p.Dimensions }];
    return ((p.Metrics ?? []) as { MetricStat?: { Metric: Record<string, unknown> } }[]).flatMap((m) =>
      m.MetricStat ? [m.MetricStat.Metric] : [],
    );
  };
  const dimension = (metric: { Dimensions?: unknown }, name: string) =>
    ((metric.Dimensions ?? []) as { Name: string; Value: unknown }[]).find((d) => d.Name === name)?.Value;

  it('has optional AlarmEmail and AlarmTopicArn parameters, each behind a condition', () => {
    expect(template.Parameters?.AlarmEmail?.Default).toBe('');
    expect(template.Parameters?.AlarmTopicArn?.Default).toBe('');
    expect(template.Conditions).toHaveProperty('HasAlarmEmail');
    expect(template.Conditions).toHaveProperty('HasAlarmTopicArn');
    expect(resources.AlarmTopic).toMatchObject({
      Type: 'AWS::SNS::Topic',
      Condition: 'HasAlarmEmail',
      Properties: { Subscription: [{ Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } }] },
    });
  });

  it.each(alarms.map(([id]) => id))(
    '%s notifies the e-mail topic and the given topic, when there are any',
    (id) => {
      const expected = [
        { 'Fn::If': ['HasAlarmEmail', { Ref: 'AlarmTopic' }, { Ref: 'AWS::NoValue' }] },
        { 'Fn::If': ['HasAlarmTopicArn', { Ref: 'AlarmTopicArn' }, { Ref: 'AWS::NoValue' }] },
      ];

      expect(alarm(id).AlarmActions).toEqual(expected);
      expect(alarm(id).OKActions).toEqual(expected);
      expect(alarm(id).TreatMissingData).toBe('notBreaching');
    },
  );

  it('raises one when anything is in the dead-letter queue', () => {
    const [id] = alarms.find(
      ([alarmId]) =>
        alarm(alarmId).MetricName === 'ApproximateNumberOfMessagesVisible' &&
        getAtt(dimension(alarm(alarmId), 'QueueName'))?.[0] === 'RoomEventsDeadLetterQueue',
    ) ?? [''];

    expect(alarm(id)).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('raises one when the oldest room event is older than QueueAgeAlarmSeconds', () => {
    const [id] = alarms.find(([, a]) => a.Properties?.MetricName === 'ApproximateAgeOfOldestMessage') ?? [''];

    expect(getAtt(dimension(alarm(id), 'QueueName'))).toEqual(['RoomEventsQueue', 'QueueName']);
    expect(refOf(alarm(id).Threshold)).toBe('QueueAgeAlarmSeconds');
    expect(template.Parameters?.QueueAgeAlarmSeconds?.Default).toBeGreaterThan(0);
  });

  it.each(['FanoutFunction', 'AuthorizerFunction'])('raises one on any error of %s', (functionId) => {
    const found = alarms.filter(
      ([id]) =>
        alarm(id).MetricName === 'Errors' && refOf(dimension(alarm(id), 'FunctionName')) === functionId,
    );

    expect(found).toHaveLength(1);
    expect(alarm(found[0]?.[0] ?? '')).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('raises one when Lambda throttles any function of the stack (the fanout apart: rooms then deliver late)', () => {
    const ids = alarms
      .filter(([alarmId]) => watched(alarmId).some((m) => m.MetricName === 'Throttles'))
      .map(([alarmId]) => alarmId);
    const throttled = ids.flatMap((id) => watched(id).map((m) => refOf(dimension(m, 'FunctionName'))));

    expect(new Set(throttled)).toEqual(new Set(functionIds));
    for (const id of ids) expect(watched(id).length).toBeLessThanOrEqual(10);
    expect(ids).toContain('FanoutThrottlesAlarm');
  });

  it('raises one when DynamoDB throttles the chat table', () => {
    const [id] = alarms.find(([alarmId]) =>
      watched(alarmId).some((m) => m.MetricName === 'WriteThrottleEvents'),
    ) ?? [''];

    expect(
      watched(id)
        .map((m) => m.MetricName)
        .sort(),
    ).toEqual(['ReadThrottleEvents', 'WriteThrottleEvents']);
    for (const metric of watched(id)) expect(refOf(dimension(metric, 'TableName'))).toBe('ChatTable');
  });
});

describe('the dashboard', () => {
  const dashboards = ofType('AWS::CloudWatch::Dashboard');
  const body = dashboards[0] ? subText(dashboards[0][1].Properties?.DashboardBody) : '{}';
  const emitted = [
    'functions/shared/runtime/ws-route-handler.ts',
    'functions/fanout/handler.ts',
    'functions/shared/use-cases/deliver-room-event.ts',
  ].flatMap((file) =>
    [
      ...readFileSync(path.join(REPO_ROOT, file), 'utf8').matchAll(
        /metrics\.(?:count|timing|sample)\('(\w+)'/g,
      ),
    ].map((m) => m[1] as string),
  );

  it('is one CloudWatch dashboard whose body is JSON once its substitutions are filled in', () => {
    expect(dashboards).toHaveLength(1);
    expect(() => JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x'))).not.toThrow();
  });

  it('reads the custom metrics from the namespace the functions write to', () => {
    const variables = (globals.Environment as { Variables: Record<string, unknown> }).Variables;
    const namespace = subText(variables.METRICS_NAMESPACE);

    expect(namespace).toContain(`\${AWS::StackName}`);
    expect(body).toContain(`"${namespace}"`);
  });

  it('graphs every metric the functions emit', () => {
    expect(emitted.length).toBeGreaterThanOrEqual(10);
    for (const name of new Set(emitted)) expect(body).toContain(name);
  });

  it('graphs every function, and shows every alarm', () => {
    for (const id of functionIds) expect(body).toContain(`\${${id}}`);
    for (const [id] of ofType('AWS::CloudWatch::Alarm')) expect(body).toContain(`\${${id}.Arn}`);
  });

  it('documents every metric in docs/operations.md', () => {
    const operations = readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    for (const name of new Set(emitted)) expect(operations).toContain(`\`${name}\``);
  });
});

describe('samconfig.toml', () => {
  it('agrees with scripts/sam-checks.sh on cached builds (off, unless SAM_BUILD_FLAGS asks)', () => {
    const config = readFileSync(path.join(REPO_ROOT, 'samconfig.toml'), 'utf8');
    const checks = readFileSync(path.join(REPO_ROOT, 'scripts', 'sam-checks.sh'), 'utf8');

    expect(config).toMatch(/^cached = false$/m);
    expect(checks).toMatch(/^cache_flag=\(--no-cached\)$/m);
    expect(checks).toMatch(/sam-build\.sh[^\n]*"\$\{cache_flag\[@\]\}"/);
  });
});

describe('hardening', () => {
  /** Every `Resource` value anywhere in the template (roles, inline and managed policies, SAM policies). */
  const resourceValues = (node: unknown, path: string[] = []): [string, unknown][] => {
    if (Array.isArray(node)) return node.flatMap((child, i) => resourceValues(child, [...path, String(i)]));
    if (node === null || typeof node !== 'object') return [];
    return Object.entries(node as Record<string, unknown>).flatMap(([key, value]) => [
      ...(key === 'Resource'
        ? list(value).map((v) => [[...path, key].join('.'), v] as [string, unknown])
        : []),
      ...resourceValues(value, [...path, key]),
    ]);
  };

  it('has no Resource: "*" anywhere in the template, in any policy of any resource', () => {
    const found = resourceValues(resources);

    expect(found.length).toBeGreaterThan(0);
    expect(found.filter(([, value]) => value === '*' || value === 'arn:aws:*')).toEqual([]);
  });

  it('throttles the stage by default (rate and burst limits on every route)', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, CfnResource]];
    const settings = stage.Properties?.DefaultRouteSettings as Record<string, unknown>;
    const parameter = (value: unknown) => template.Parameters?.[refOf(value) ?? ''] as { Default?: number };

    expect(parameter(settings.ThrottlingRateLimit).Default).toBeGreaterThan(0);
    expect(parameter(settings.ThrottlingBurstLimit).Default).toBeGreaterThanOrEqual(
      parameter(settings.ThrottlingRateLimit).Default ?? 0,
    );
  });
});

describe('sign-in (AuthMode)', () => {
  const parameters = template.Parameters ?? {};
  const defaults = Object.fromEntries(
    Object.entries(parameters).flatMap(([name, p]) => ('Default' in p ? [[name, p.Default]] : [])),
  );

  /** The authorizer's environment as CloudFormation would resolve it for these parameter values. */
  function authorizerEnv(values: Record<string, unknown>): Record<string, unknown> {
    const variables = (props('AuthorizerFunction').Environment as { Variables: Record<string, unknown> })
      .Variables;
    return evaluate(variables, {
      parameters: { ...defaults, ...values },
      pseudo: { 'AWS::Region': 'eu-north-1', 'AWS::URLSuffix': 'amazonaws.com', 'AWS::AccountId': '1' },
      conditions: template.Conditions ?? {},
      ref: (id) => `<${id}>`,
      getAtt: (id, attribute) => `<${id}.${attribute}>`,
    }) as Record<string, unknown>;
  }

  const CHAT = 'chat-token-0123456789';

  it('defaults to token mode with the tokens from the parameters', () => {
    expect(parameters.AuthMode).toMatchObject({ Default: 'token', AllowedValues: ['token', 'jwt'] });
    expect(authorizerEnv({ ChatAuthToken: CHAT })).toEqual({
      AUTH_MODE: 'token',
      CHAT_AUTH_TOKEN: CHAT,
      TOKEN_SOURCE: 'environment',
    });
  });

  it('passes the admin token only when it is not "none"', () => {
    expect(authorizerEnv({ ChatAuthToken: CHAT, AdminAuthToken: 'admin-token-0123456789' })).toMatchObject({
      ADMIN_AUTH_TOKEN: 'admin-token-0123456789',
    });
  });

  it.each(['secretsmanager', 'ssm'])(
    'keeps the tokens out of the function configuration with TokenSource %s',
    (source) => {
      expect(authorizerEnv({ TokenSource: source, TokenSourceName: '/chat', ChatAuthToken: CHAT })).toEqual({
        AUTH_MODE: 'token',
        TOKEN_SOURCE: source,
        TOKEN_SOURCE_NAME: '/chat',
      });
    },
  );

  it('points jwt mode at the created user pool and its web client, with chat-admins as the admin group', () => {
    expect(authorizerEnv({ AuthMode: 'jwt', CreateUserPool: 'true', ChatAuthToken: CHAT })).toEqual({
      AUTH_MODE: 'jwt',
      JWT_ISSUER: 'https://cognito-idp.eu-north-1.amazonaws.com/<UserPool>',
      JWT_AUDIENCE: '<UserPoolClient>',
      JWT_TOKEN_USE: 'access',
      JWT_ADMIN_CLAIM: 'cognito:groups',
      JWT_ADMIN_VALUE: '<ChatAdminsGroup>',
    });
    expect(props('ChatAdminsGroup').GroupName).toBe('chat-admins');
  });

  it('points jwt mode at any other OIDC provider with JwtIssuer, JwtAudience, JwtJwksUri and the admin claim', () => {
    expect(
      authorizerEnv({
        AuthMode: 'jwt',
        JwtIssuer: 'https://login.example/realms/chat',
        JwtAudience: 'chat-api',
        JwtJwksUri: 'https://login.example/realms/chat/protocol/openid-connect/certs',
        JwtAdminClaim: 'realm_access.roles',
        JwtAdminValue: 'chat-admin',
      }),
    ).toEqual({
      AUTH_MODE: 'jwt',
      JWT_ISSUER: 'https://login.example/realms/chat',
      JWT_AUDIENCE: 'chat-api',
      JWT_JWKS_URI: 'https://login.example/realms/chat/protocol/openid-connect/certs',
      JWT_TOKEN_USE: 'access',
      JWT_ADMIN_CLAIM: 'realm_access.roles',
      JWT_ADMIN_VALUE: 'chat-admin',
    });
  });

  it('creates the Cognito resources only under CreateUserPool (in jwt mode)', () => {
    const cognito = Object.entries(resources).filter(([, r]) => r.Type.startsWith('AWS::Cognito::'));

    expect(cognito.map(([id]) => id).sort()).toEqual([
      'ChatAdminsGroup',
      'UserPool',
      'UserPoolClient',
      'UserPoolDomain',
    ]);
    for (const [, resource] of cognito) expect(resource.Condition).toBe('CreatesUserPool');
    expect(template.Conditions?.CreatesUserPool).toEqual({
      'Fn::And': [{ Condition: 'IsJwtMode' }, { 'Fn::Equals': [{ Ref: 'CreateUserPool' }, 'true'] }],
    });
  });

  it('makes the web client a public PKCE client of the hosted UI, and lets only operators create users', () => {
    expect(props('UserPoolClient')).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: expect.arrayContaining(['openid']),
      PreventUserExistenceErrors: 'ENABLED',
    });
    expect(props('UserPool').AdminCreateUserConfig).toEqual({ AllowAdminCreateUserOnly: true });
  });

  it('outputs the user pool, its client, the hosted UI and the issuer when it creates them', () => {
    for (const name of ['UserPoolId', 'UserPoolClientId', 'UserPoolHostedUiUrl', 'JwtIssuerUrl']) {
      expect(template.Outputs?.[name]).toMatchObject({ Condition: 'CreatesUserPool' });
    }
  });

  it('refuses at deploy time the parameter sets that could not work (Rules)', () => {
    const rules = (template as unknown as { Rules: Record<string, { Assertions: unknown[] }> }).Rules;

    expect(Object.keys(rules).sort()).toEqual([
      'JwtModeNeedsAnIssuer',
      'StoredTokensNeedAName',
      'TokenModeNeedsAChatToken',
      'UserPoolNeedsJwtMode',
    ]);
    expect(JSON.stringify(rules.TokenModeNeedsAChatToken)).toContain('"ChatAuthToken"},"none"');
  });
});

describe('events/env.json (sam local invoke --env-vars)', () => {
  const envFile = JSON.parse(readFileSync(path.join(REPO_ROOT, 'events', 'env.json'), 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  const declared = (id: string): Record<string, unknown> => ({
    ...((globals.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
    ...((props(id).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
  });
  /**
   * A value SAM cannot resolve locally: it names a resource of the stack (a table, a queue, the
   * API). Values behind !If belong to a parameter set other than the defaults (JWT mode's user pool).
   */
  const namesAResource = (value: unknown): boolean => {
    const text = JSON.stringify(value);
    if (text.startsWith('{"Fn::If"')) return false;
    return Object.keys(resources).some(
      (resourceId) => text.includes(`"Ref":"${resourceId}"`) || text.includes(`\${${resourceId}`),
    );
  };

  it('has an entry for every function and for no other', () => {
    expect(Object.keys(envFile).sort()).toEqual([...functionIds].sort());
  });

  it.each(functionIds)('sets only variables %s declares (SAM drops the others silently)', (id) => {
    const unknown = Object.keys(envFile[id] ?? {}).filter((name) => !(name in declared(id)));

    expect(unknown).toEqual([]);
  });

  it.each(functionIds)('points every variable of %s that names a resource at a local one', (id) => {
    const unresolved = Object.entries(declared(id))
      .filter(([name, value]) => namesAResource(value) && !(name in (envFile[id] ?? {})))
      .map(([name]) => name);

    expect(unresolved).toEqual([]);
  });
});
