/**
 * The local stand-ins for the template's resources: names, URLs and ARNs the local stack
 * gives the table, the queues, the API and the functions, and the function environment
 * resolved from the template with them (Ref ChatTable → the local table name, Ref
 * RoomEventsQueue → the local queue URL, the execute-api URL → the local gateway, …).
 */
import { createHash } from 'node:crypto';
import { evaluate, type IntrinsicContext, UnresolvableError } from './intrinsics';
import type { FunctionModel, QueueModel, TemplateModel } from './template-model';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '123456789012';
/** Credentials the SDK signs with locally (DynamoDB Local and the SQS emulator accept any). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A queue of the template as created locally. */
export interface LocalQueue {
  url: string;
  arn: string;
  name: string;
}

export interface LocalResources {
  stackName: string;
  apiId: string;
  stage: string;
  /** http://127.0.0.1:<port>: the gateway's page and @connections base. */
  httpUrl: string;
  wsUrl: string;
  tables: Record<string, string>;
  queues: Record<string, LocalQueue>;
  dynamoDbEndpoint: string;
  sqsEndpoint: string;
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

export const localTableName = (stackName: string, logicalId: string) => `${stackName}-${logicalId}`;
export const localQueueName = (stackName: string, queue: QueueModel) =>
  `${stackName}-${queue.logicalId}${queue.fifo ? '.fifo' : ''}`;
export const localFunctionName = (stackName: string, logicalId: string) => `${stackName}-${logicalId}`;

/** A stable, API Gateway-looking api id for a stack name (10 lowercase letters/digits). */
export function localApiId(stackName: string): string {
  const digest = createHash('sha1').update(`local-api:${stackName}`).digest();
  return Array.from(digest.subarray(0, 10), (byte) => ALPHANUMERIC[byte % ALPHANUMERIC.length]).join('');
}

export function intrinsicContext(model: TemplateModel, local: LocalResources): IntrinsicContext {
  const resources = model.template.Resources;
  const typeOf = (id: string) => resources[id]?.Type;
  const functionArn = (id: string) =>
    `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${localFunctionName(local.stackName, id)}`;
  return {
    parameters: model.parameters,
    pseudo: {
      'AWS::Region': LOCAL_REGION,
      'AWS::AccountId': LOCAL_ACCOUNT_ID,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': local.stackName,
      'AWS::StackId': `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stack/${local.stackName}/local`,
    },
    conditions: model.template.Conditions ?? {},
    ref(id) {
      switch (typeOf(id)) {
        case 'AWS::DynamoDB::Table':
          return local.tables[id];
        case 'AWS::SQS::Queue':
          return local.queues[id]?.url;
        case 'AWS::ApiGatewayV2::Api':
          return local.apiId;
        case 'AWS::Serverless::Function':
          return localFunctionName(local.stackName, id);
        default:
          return undefined;
      }
    },
    getAtt(id, attribute) {
      const type = typeOf(id);
      if (type === 'AWS::DynamoDB::Table' && attribute === 'Arn') {
        return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/${local.tables[id]}`;
      }
      if (type === 'AWS::SQS::Queue') {
        const queue = local.queues[id];
        if (attribute === 'Arn') return queue?.arn;
        if (attribute === 'QueueName') return queue?.name;
        if (attribute === 'QueueUrl') return queue?.url;
      }
      if (type === 'AWS::Serverless::Function' && attribute === 'Arn') return functionArn(id);
      if (type === 'AWS::ApiGatewayV2::Api' && attribute === 'ApiEndpoint') {
        return `wss://${local.apiId}.execute-api.${LOCAL_REGION}.amazonaws.com`;
      }
      return undefined;
    },
  };
}

/** https://<apiId>.execute-api.<region>.amazonaws.com/<path> → the local gateway's URL. */
function toLocalEndpoint(value: string, local: LocalResources): string {
  const pattern = new RegExp(`^(https|wss)://${local.apiId}\\.execute-api\\.[a-z0-9-]+\\.amazonaws\\.com`);
  return value.replace(pattern, (_match, scheme: string) => (scheme === 'wss' ? local.wsUrl : local.httpUrl));
}

/**
 * The function's environment as Lambda would see it, with local values: the template's
 * variables (Globals merged), the Lambda runtime's own variables, and the local endpoints
 * and credentials for the SDK. `extra` (LocalChatOptions.functionEnv) overrides all.
 */
export function resolveFunctionEnv(
  model: TemplateModel,
  fn: FunctionModel,
  local: LocalResources,
  extra: Record<string, string> = {},
): Record<string, string> {
  const ctx = intrinsicContext(model, local);
  const env: Record<string, string> = {};
  for (const [name, raw] of Object.entries(fn.environment)) {
    let value: unknown;
    try {
      value = evaluate({ v: raw }, ctx);
    } catch (error) {
      if (error instanceof UnresolvableError) throw new Error(`${fn.logicalId} ${name}: ${error.message}`);
      throw error;
    }
    const resolved = (value as { v?: unknown }).v;
    if (resolved !== undefined) env[name] = toLocalEndpoint(String(resolved), local);
  }
  const functionName = localFunctionName(local.stackName, fn.logicalId);
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: local.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: local.sqsEndpoint,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    TZ: 'UTC',
    ...env,
    ...extra,
  };
}
