/**
 * What API Gateway makes of a Lambda REQUEST authorizer's answer: the IAM policy is checked
 * against the method ARN (an explicit Deny wins, then any Allow; no match is a Deny), and
 * the context reaches the routes as requestContext.authorizer with principalId.
 */
export type AuthorizerDecision =
  | { effect: 'Allow'; authorizer: Record<string, unknown> }
  | { effect: 'Deny' }
  | { effect: 'Invalid'; reason: string };

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

/** IAM-style wildcard match: `*` any run of characters, `?` one character. */
function matches(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}

const list = (value: string | string[] | undefined) =>
  value === undefined ? [] : ([] as string[]).concat(value);

export function evaluateAuthorizerResult(result: unknown, methodArn: string): AuthorizerDecision {
  if (typeof result !== 'object' || result === null) return { effect: 'Invalid', reason: 'not an object' };
  const { principalId, policyDocument, context } = result as {
    principalId?: unknown;
    policyDocument?: { Statement?: Statement | Statement[] };
    context?: Record<string, unknown>;
  };
  if (!policyDocument?.Statement) return { effect: 'Invalid', reason: 'no policyDocument.Statement' };
  const statements = ([] as Statement[])
    .concat(policyDocument.Statement)
    .filter(
      (s) =>
        list(s.Action).some((a) => matches(a, 'execute-api:Invoke')) &&
        list(s.Resource).some((r) => matches(r, methodArn)),
    );
  if (statements.some((s) => s.Effect === 'Deny')) return { effect: 'Deny' };
  if (!statements.some((s) => s.Effect === 'Allow')) return { effect: 'Deny' };
  for (const value of Object.values(context ?? {})) {
    if (value !== null && typeof value === 'object') {
      return { effect: 'Invalid', reason: 'context values must be strings, numbers or booleans' };
    }
  }
  return { effect: 'Allow', authorizer: { ...(context ?? {}), principalId } };
}
