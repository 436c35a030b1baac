/**
 * Evaluates CloudFormation intrinsic functions (Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Not,
 * Fn::Equals, Fn::And, Fn::Or, Fn::Join, Fn::Select, Fn::Split, Condition) against the
 * values the local stack gives parameters, pseudo parameters and resources.
 */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

export interface IntrinsicContext {
  /** Parameter values (template defaults overridden by the local stack). */
  parameters: Record<string, unknown>;
  /** AWS::Region, AWS::AccountId, AWS::Partition, AWS::StackName, AWS::URLSuffix, … */
  pseudo: Record<string, string>;
  /** The template's Conditions section (raw). */
  conditions?: Record<string, unknown>;
  /** What `Ref` gives for a resource, or undefined when the local stack has no value for it. */
  ref(logicalId: string): string | undefined;
  /** What `Fn::GetAtt` gives, or undefined when unknown. */
  getAtt(logicalId: string, attribute: string): string | undefined;
}

export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || !!keys[0]?.startsWith('Fn::'));
}

function ref(name: string, ctx: IntrinsicContext): unknown {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (name in ctx.parameters) return ctx.parameters[name];
  if (name in ctx.pseudo) return ctx.pseudo[name];
  const value = ctx.ref(name);
  if (value === undefined) throw new UnresolvableError(`Ref ${name} has no local value`);
  return value;
}

function getAtt(target: string, attribute: string, ctx: IntrinsicContext): string {
  const value = ctx.getAtt(target, attribute);
  if (value === undefined)
    throw new UnresolvableError(`Fn::GetAtt ${target}.${attribute} has no local value`);
  return value;
}

function sub(args: unknown, ctx: IntrinsicContext): string {
  const [text, vars] = Array.isArray(args) ? args : [args, {}];
  if (typeof text !== 'string') throw new UnresolvableError('Fn::Sub needs a string');
  const local = (vars ?? {}) as Record<string, unknown>;
  return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    if (name in local) return String(evaluate(local[name], ctx));
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), ctx);
    return String(ref(name, ctx));
  });
}

export function condition(name: string, ctx: IntrinsicContext): boolean {
  const definition = ctx.conditions?.[name];
  if (definition === undefined) throw new UnresolvableError(`Condition ${name} is not defined`);
  return Boolean(evaluate(definition, ctx));
}

function call(fn: string, args: unknown, ctx: IntrinsicContext): unknown {
  const list = (): unknown[] => {
    const value = evaluate(args, ctx);
    if (!Array.isArray(value)) throw new UnresolvableError(`${fn} needs a list`);
    return value;
  };
  switch (fn) {
    case 'Ref':
      return ref(String(args), ctx);
    case 'Condition':
      return condition(String(args), ctx);
    case 'Fn::Sub':
      return sub(args, ctx);
    case 'Fn::GetAtt': {
      const [target, attribute] = Array.isArray(args) ? args : String(args).split(/\.(.*)/s);
      return getAtt(String(target), String(evaluate(attribute, ctx)), ctx);
    }
    case 'Fn::If': {
      const [name, whenTrue, whenFalse] = args as [string, unknown, unknown];
      return evaluate(condition(name, ctx) ? whenTrue : whenFalse, ctx);
    }
    case 'Fn::Not':
      return !list()[0];
    case 'Fn::And':
      return list().every(Boolean);
    case 'Fn::Or':
      return list().some(Boolean);
    case 'Fn::Equals': {
      const [a, b] = list();
      return String(a) === String(b);
    }
    case 'Fn::Join': {
      const [separator, items] = list() as [string, unknown[]];
      return items.map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, items] = list() as [number | string, unknown[]];
      return items[Number(index)];
    }
    case 'Fn::Split': {
      const [separator, text] = list() as [string, string];
      return text.split(separator);
    }
    default:
      throw new UnresolvableError(`${fn} is not supported by the local stack`);
  }
}

/**
 * Evaluates every intrinsic inside `value`. `AWS::NoValue` removes the property or list
 * item it stands for (and evaluates to NO_VALUE at the top level).
 */
export function evaluate(value: unknown, ctx: IntrinsicContext): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => evaluate(item, ctx)).filter((item) => item !== NO_VALUE);
  }
  if (isIntrinsic(value)) {
    const [fn, args] = Object.entries(value)[0] as [string, unknown];
    return call(fn, args, ctx);
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const resolved = evaluate(item, ctx);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }
  return value;
}
