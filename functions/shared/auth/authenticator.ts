/**
 * Builds the authorizer's Authenticator from its configuration: shared tokens (from the
 * environment, or read from Secrets Manager / SSM) or JWTs from an issuer. Called once per
 * cold start; only the mode in use loads its code's dependencies.
 */
import type { AuthConfig } from '../runtime/config.js';
import { type Authenticator, sharedTokenAuthenticator } from '../use-cases/authorize.js';
import { JwtAuthenticator } from './jwt-authenticator.js';

export async function createAuthenticator(config: AuthConfig): Promise<Authenticator> {
  if (config.mode === 'jwt') return new JwtAuthenticator(config.jwt);
  if (config.tokens.kind === 'environment') return sharedTokenAuthenticator(config.tokens);
  // Loaded only here (a lazy require: esbuild bundles it, but evaluates it on first use), so the
  // Secrets Manager and SSM clients cost no cold-start time where they are not used.
  const { readSharedTokens } =
    require('./shared-token-sources.js') as typeof import('./shared-token-sources.js');
  return sharedTokenAuthenticator(await readSharedTokens(config.tokens));
}
