/**
 * What the local stack needs to know from template.yaml, read from the template and never
 * restated in code: the WebSocket API (route selection expression, routes, which function
 * serves each route, which are two-way, the authorizer and its identity sources), every
 * function (entry point, build settings, environment merged with Globals, timeout, memory,
 * reserved concurrency),
 * the DynamoDB tables, the SQS queues with their redrive policies, and the SQS event
 * source mappings of the functions.
 */
import path from 'node:path';
import { REPO_ROOT } from '../repo-root';
import { type CfnTemplate, readCfnTemplate } from './cfn-yaml';
import { evaluate, type IntrinsicContext } from './intrinsics';

export const TEMPLATE_FILE = path.join(REPO_ROOT, 'template.yaml');

export interface RouteModel {
  logicalId: string;
  routeKey: string;
  authorizationType: string;
  authorizerId?: string;
  /** Has a route response ($default), so the integration's body is sent back to the caller. */
  twoWay: boolean;
  functionId: string;
}

export interface AuthorizerModel {
  logicalId: string;
  type: string;
  /** e.g. route.request.querystring.Auth */
  identitySources: string[];
  functionId: string;
}

export interface FunctionModel {
  logicalId: string;
  entryPoint: string;
  /** Exported name of the handler (the part after the last dot of `Handler`). */
  exportName: string;
  runtime: string;
  timeoutSeconds: number;
  memorySize: number;
  /** ReservedConcurrentExecutions: the most invocations at once, beyond which Lambda throttles. */
  reservedConcurrency?: number;
  /** Environment.Variables merged over Globals, intrinsics not yet resolved. */
  environment: Record<string, unknown>;
  build: { target: string; sourcemap: boolean; minify: boolean; external: string[]; format: 'cjs' | 'esm' };
}

export interface TableModel {
  logicalId: string;
  attributeDefinitions: { AttributeName: string; AttributeType: string }[];
  keySchema: { AttributeName: string; KeyType: string }[];
  globalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }[];
  ttlAttribute?: string;
}

export interface QueueModel {
  logicalId: string;
  fifo: boolean;
  /** SQS attributes from the template (names as CreateQueue takes them), redrive excluded. */
  attributes: Record<string, string>;
  visibilityTimeoutSeconds: number;
  redrive?: { deadLetterQueueId: string; maxReceiveCount: number };
}

export interface SqsTriggerModel {
  functionId: string;
  queueId: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  maximumConcurrency?: number;
  reportBatchItemFailures: boolean;
}

export interface TemplateModel {
  template: CfnTemplate;
  parameters: Record<string, unknown>;
  api: { logicalId: string; routeSelectionExpression: string };
  stageName: string;
  routes: RouteModel[];
  authorizer?: AuthorizerModel;
  functions: Record<string, FunctionModel>;
  tables: TableModel[];
  queues: QueueModel[];
  sqsTriggers: SqsTriggerModel[];
}

type Resource = CfnTemplate['Resources'][string];
type Props = Record<string, unknown>;

/** Logical ids an intrinsic value refers to (Ref, Fn::GetAtt, and ${…} inside Fn::Sub). */
export function referencedIds(value: unknown): string[] {
  const found: string[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (typeof v !== 'object' || v === null) return;
    for (const [key, arg] of Object.entries(v)) {
      if (key === 'Ref' && typeof arg === 'string') found.push(arg);
      else if (key === 'Fn::GetAtt' && Array.isArray(arg)) found.push(String(arg[0]));
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(arg) ? arg[0] : arg;
        for (const m of String(text).matchAll(/\$\{([^!}][^}.]*)(?:\.[^}]*)?\}/g)) found.push(m[1] as string);
        if (Array.isArray(arg)) visit(arg[1]);
      } else visit(arg);
    }
  };
  visit(value);
  return found.filter((id) => !id.startsWith('AWS::'));
}

function parameterValues(template: CfnTemplate, overrides: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(template.Parameters ?? {})) {
    if (name in overrides) values[name] = overrides[name];
    else if ('Default' in definition) values[name] = definition.Default;
  }
  return values;
}

/** A context that knows parameters only: for numbers and names the template derives from them. */
function parameterContext(template: CfnTemplate, parameters: Record<string, unknown>): IntrinsicContext {
  return {
    parameters,
    pseudo: { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws' },
    conditions: template.Conditions ?? {},
    ref: () => undefined,
    getAtt: () => undefined,
  };
}

export function loadTemplateModel(
  file: string = TEMPLATE_FILE,
  parameterOverrides: Record<string, unknown> = {},
): TemplateModel {
  const template = readCfnTemplate(file);
  const parameters = parameterValues(template, parameterOverrides);
  const ctx = parameterContext(template, parameters);
  const num = (value: unknown, fallback: number) =>
    value === undefined ? fallback : Number(evaluate(value, ctx));
  const resources = Object.entries(template.Resources);
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const props = (r: Resource | undefined): Props => (r?.Properties ?? {}) as Props;
  const firstRefTo = (value: unknown, type: string, what: string): string => {
    const id = referencedIds(value).find((candidate) => template.Resources[candidate]?.Type === type);
    if (!id) throw new Error(`template.yaml: cannot find the ${type} that ${what} refers to`);
    return id;
  };

  const apis = ofType('AWS::ApiGatewayV2::Api').filter(([, r]) => props(r).ProtocolType === 'WEBSOCKET');
  const [apiEntry] = apis;
  if (!apiEntry) throw new Error('template.yaml: no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET');
  const [apiId, api] = apiEntry;
  const belongsToApi = (r: Resource) => referencedIds(props(r).ApiId).includes(apiId);

  const [, stage] = ofType('AWS::ApiGatewayV2::Stage').find(([, r]) => belongsToApi(r)) ?? [];
  const stageName = stage ? String(evaluate(props(stage).StageName, ctx)) : '$default';

  const integrationFunction = (integrationId: string): string => {
    const integration = template.Resources[integrationId];
    const p = props(integration);
    if (p.IntegrationType !== 'AWS_PROXY') {
      throw new Error(`${integrationId}: only AWS_PROXY (Lambda proxy) integrations run locally`);
    }
    return firstRefTo(p.IntegrationUri, 'AWS::Serverless::Function', `${integrationId}.IntegrationUri`);
  };

  const routeResponses = new Set(
    ofType('AWS::ApiGatewayV2::RouteResponse').flatMap(([, r]) => referencedIds(props(r).RouteId)),
  );
  const routes: RouteModel[] = ofType('AWS::ApiGatewayV2::Route')
    .filter(([, r]) => belongsToApi(r))
    .map(([logicalId, r]) => {
      const p = props(r);
      const integrationId = firstRefTo(p.Target, 'AWS::ApiGatewayV2::Integration', `${logicalId}.Target`);
      const authorizerId = p.AuthorizerId ? referencedIds(p.AuthorizerId)[0] : undefined;
      return {
        logicalId,
        routeKey: String(p.RouteKey),
        authorizationType: String(p.AuthorizationType ?? 'NONE'),
        ...(authorizerId ? { authorizerId } : {}),
        twoWay: p.RouteResponseSelectionExpression !== undefined && routeResponses.has(logicalId),
        functionId: integrationFunction(integrationId),
      };
    });

  const [authorizerEntry] = ofType('AWS::ApiGatewayV2::Authorizer').filter(([, r]) => belongsToApi(r));
  const authorizer: AuthorizerModel | undefined = authorizerEntry && {
    logicalId: authorizerEntry[0],
    type: String(props(authorizerEntry[1]).AuthorizerType),
    identitySources: ([] as unknown[]).concat(props(authorizerEntry[1]).IdentitySource ?? []).map(String),
    functionId: firstRefTo(
      props(authorizerEntry[1]).AuthorizerUri,
      'AWS::Serverless::Function',
      `${authorizerEntry[0]}.AuthorizerUri`,
    ),
  };

  const globals = (template.Globals?.Function ?? {}) as Props;
  const globalEnv = ((globals.Environment as Props | undefined)?.Variables ?? {}) as Props;
  const functions: Record<string, FunctionModel> = {};
  const sqsTriggers: SqsTriggerModel[] = [];
  for (const [logicalId, r] of ofType('AWS::Serverless::Function')) {
    const p = props(r);
    const build = ((r.Metadata as Props | undefined)?.BuildProperties ?? {}) as Props;
    const entry = (build.EntryPoints as string[] | undefined)?.[0];
    if (!entry) throw new Error(`${logicalId}: Metadata.BuildProperties.EntryPoints is required`);
    // EntryPoints are relative to CodeUri; the model keeps them relative to the repository root.
    const entryPoint = path.posix.join(String(p.CodeUri ?? globals.CodeUri ?? '.'), entry);
    const handler = String(p.Handler ?? globals.Handler ?? 'index.handler');
    const reserved = p.ReservedConcurrentExecutions ?? globals.ReservedConcurrentExecutions;
    functions[logicalId] = {
      logicalId,
      entryPoint,
      exportName: handler.slice(handler.lastIndexOf('.') + 1),
      runtime: String(p.Runtime ?? globals.Runtime ?? 'nodejs22.x'),
      timeoutSeconds: num(p.Timeout ?? globals.Timeout, 3),
      memorySize: num(p.MemorySize ?? globals.MemorySize, 128),
      ...(reserved !== undefined ? { reservedConcurrency: num(reserved, 0) } : {}),
      environment: { ...globalEnv, ...(((p.Environment as Props | undefined)?.Variables ?? {}) as Props) },
      build: {
        target: String(build.Target ?? 'es2020'),
        sourcemap: build.Sourcemap === true || build.Sourcemap === 'true',
        minify: build.Minify === true || build.Minify === 'true',
        external: ((build.External as string[] | undefined) ?? []).map(String),
        format: build.Format === 'esm' ? 'esm' : 'cjs',
      },
    };
    for (const event of Object.values(
      (p.Events ?? {}) as Record<string, { Type: string; Properties: Props }>,
    )) {
      if (event.Type !== 'SQS') continue;
      const e = event.Properties;
      const scaling = (e.ScalingConfig ?? {}) as Props;
      const maximumConcurrency = scaling.MaximumConcurrency;
      sqsTriggers.push({
        functionId: logicalId,
        queueId: firstRefTo(e.Queue, 'AWS::SQS::Queue', `${logicalId} SQS event Queue`),
        batchSize: num(e.BatchSize, 10),
        maximumBatchingWindowSeconds: num(e.MaximumBatchingWindowInSeconds, 0),
        ...(maximumConcurrency !== undefined ? { maximumConcurrency: num(maximumConcurrency, 1000) } : {}),
        reportBatchItemFailures: ((e.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
      });
    }
  }

  const tables: TableModel[] = ofType('AWS::DynamoDB::Table').map(([logicalId, r]) => {
    const p = props(r);
    const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    return {
      logicalId,
      attributeDefinitions: p.AttributeDefinitions as TableModel['attributeDefinitions'],
      keySchema: p.KeySchema as TableModel['keySchema'],
      globalSecondaryIndexes: (p.GlobalSecondaryIndexes ?? []) as TableModel['globalSecondaryIndexes'],
      ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
    };
  });

  const QUEUE_ATTRIBUTES = [
    'FifoQueue',
    'ContentBasedDeduplication',
    'DeduplicationScope',
    'FifoThroughputLimit',
    'VisibilityTimeout',
    'MessageRetentionPeriod',
    'DelaySeconds',
    'MaximumMessageSize',
    'ReceiveMessageWaitTimeSeconds',
    'SqsManagedSseEnabled',
  ];
  const queues: QueueModel[] = ofType('AWS::SQS::Queue').map(([logicalId, r]) => {
    const p = props(r);
    const attributes: Record<string, string> = {};
    for (const name of QUEUE_ATTRIBUTES) {
      if (p[name] !== undefined) attributes[name] = String(evaluate(p[name], ctx));
    }
    const redrive = p.RedrivePolicy as Props | undefined;
    return {
      logicalId,
      fifo: attributes.FifoQueue === 'true',
      attributes,
      visibilityTimeoutSeconds: num(p.VisibilityTimeout, 30),
      ...(redrive
        ? {
            redrive: {
              deadLetterQueueId: firstRefTo(
                redrive.deadLetterTargetArn,
                'AWS::SQS::Queue',
                `${logicalId}.RedrivePolicy`,
              ),
              maxReceiveCount: num(redrive.maxReceiveCount, 10),
            },
          }
        : {}),
    };
  });

  return {
    template,
    parameters,
    api: { logicalId: apiId, routeSelectionExpression: String(props(api).RouteSelectionExpression) },
    stageName,
    routes,
    ...(authorizer ? { authorizer } : {}),
    functions,
    tables,
    queues,
    sqsTriggers,
  };
}
