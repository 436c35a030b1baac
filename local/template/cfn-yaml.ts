/**
 * Reads a CloudFormation / SAM YAML template with the `yaml` package. The short-form
 * intrinsics (!Ref, !Sub, !GetAtt, !If, …) become their long form ({ Ref }, { 'Fn::Sub' }, …)
 * whether written as a scalar, a sequence or a mapping, so the rest of the local stack
 * reads the same JSON CloudFormation sees.
 */
import { readFileSync } from 'node:fs';
import { parse, type Tags, type YAMLMap, type YAMLSeq } from 'yaml';

const FUNCTIONS = [
  'And',
  'Base64',
  'Cidr',
  'Equals',
  'FindInMap',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Length',
  'Not',
  'Or',
  'Select',
  'Split',
  'Sub',
  'ToJsonString',
  'Transform',
];

/** `!GetAtt A.B` is `{ 'Fn::GetAtt': ['A', 'B'] }` (the attribute part may contain dots). */
function splitGetAtt(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const dot = value.indexOf('.');
  return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
}

function intrinsic(tag: string, key: string, transform: (v: unknown) => unknown = (v) => v): Tags {
  return [
    { tag, resolve: (value: string) => ({ [key]: transform(value) }) },
    { tag, collection: 'seq', resolve: (seq) => ({ [key]: transform((seq as YAMLSeq).toJSON()) }) },
    { tag, collection: 'map', resolve: (map) => ({ [key]: transform((map as YAMLMap).toJSON()) }) },
  ];
}

const CFN_TAGS: Tags = [
  ...intrinsic('!Ref', 'Ref'),
  ...intrinsic('!Condition', 'Condition'),
  ...intrinsic('!GetAtt', 'Fn::GetAtt', splitGetAtt),
  ...FUNCTIONS.flatMap((name) => intrinsic(`!${name}`, `Fn::${name}`)),
];

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
}

export interface CfnTemplate {
  Parameters?: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Globals?: Record<string, Record<string, unknown>>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export function parseCfnYaml(text: string): CfnTemplate {
  const template = parse(text, { customTags: CFN_TAGS, maxAliasCount: -1 }) as CfnTemplate | null;
  if (!template || typeof template !== 'object' || !template.Resources) {
    throw new Error('Not a CloudFormation template: no Resources section.');
  }
  return template;
}

export function readCfnTemplate(file: string): CfnTemplate {
  return parseCfnYaml(readFileSync(file, 'utf8'));
}
