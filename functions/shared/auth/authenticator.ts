/**
 * Builds the authorizer's Authenticator from its configuration: shared tokens (from the
 * environment, or read from Secrets Manager / SSM) or JWTs from an issuer. Called once per
 * cold start.
 */
import type { AuthConfig } from '../runtime/config.js';
import { type Authenticator, sharedTokenAuthenticator } from '../use-cases/authorize.js';

/**
 * Each mode's code is required lazily (esbuild bundles it, but evaluates it on first use), so a
 * mode pays only for its own: token mode never loads aws-jwt-verify, and only TokenSource
 * secretsmanager/ssm loads those SDK clients. Called at module scope, the synchronous part (jwt
 * mode's verifier included) runs during the cold start.
 */
export async function createAuthenticator(config: AuthConfig): Promise<Authenticator> {
  if (config.mode === 'jwt') {
    const { JwtAuthenticator } = require('./jwt-authenticator.js') as typeof import('./jwt-authenticator.js');
    return new JwtAuthenticator(config.jwt);
  }
  if (config.tokens.kind === 'environment') return sharedTokenAuthenticator(config.tokens);
  const { readSharedTokens } =
    require('./shared-token-sources.js') as typeof import('./shared-token-sources.js');
  return sharedTokenAuthenticator(await readSharedTokens(config.tokens));
}
