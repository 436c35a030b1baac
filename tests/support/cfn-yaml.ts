/**
 * Reads CloudFormation/SAM YAML with the `yaml` package. The short-form intrinsic tags
 * (!Ref, !Sub, !GetAtt, !If, …) are mapped to their long form ({ Ref }, { 'Fn::Sub' }, …)
 * in scalar, sequence and mapping position, so tests can inspect the template as the
 * JSON CloudFormation sees.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
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

/** `!GetAtt A.B` is `{ 'Fn::GetAtt': ['A', 'B'] }` (the attribute part may itself contain dots). */
function getAtt(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const dot = value.indexOf('.');
  return dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
}

function intrinsic(tag: string, key: string, transform: (v: unknown) => unknown = (v) => v): Tags {
  return [
    { tag, resolve: (value: string) => ({ [key]: transform(value) }) },
    {
      tag,
      collection: 'seq',
      resolve: (seq) => ({ [key]: transform((seq as YAMLSeq).toJSON()) }),
    },
    {
      tag,
      collection: 'map',
      resolve: (map) => ({ [key]: transform((map as YAMLMap).toJSON()) }),
    },
  ] as Tags;
}

export const CFN_TAGS: Tags = [
  ...intrinsic('!Ref', 'Ref'),
  ...intrinsic('!Condition', 'Condition'),
  ...intrinsic('!GetAtt', 'Fn::GetAtt', getAtt),
  ...FUNCTIONS.flatMap((name) => intrinsic(`!${name}`, `Fn::${name}`)),
];

export function parseCfnYaml(text: string): unknown {
  return parse(text, { customTags: CFN_TAGS, uniqueKeys: true, maxAliasCount: -1 });
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

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
  Globals?: { Function?: Record<string, unknown> };
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/** The project's template.yaml (or another file relative to the repository root). */
export function loadTemplate(file = 'template.yaml'): CfnTemplate {
  return parseCfnYaml(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as CfnTemplate;
}
