/**
 * The authorizer's whole configuration, read and checked at once: the base settings, and
 * introspection's and DPoP's when any is given. The handler does the same in two steps, so that
 * the code that reads them loads only where they are set (base-config.ts, introspection-config.ts, dpop-config.ts).
 */
import { type AuthorizerConfig, type Environment, introspectionRequested, loadBaseConfig } from './base-config.js';
import { applyIntrospection } from './introspection-config.js';
import { dpopConfig } from './dpop-config.js';
import { dpopRequested } from './dpop-defaults.js';

export type { AuthorizerConfig, Environment, IssuerConfig, RevocationConfig } from './base-config.js';

/** Reads and validates the configuration once, at cold start. Throws ConfigError naming the variable. */
export function loadConfig(env: Environment): AuthorizerConfig {
  const base = loadBaseConfig(env);
  const withDpop = dpopRequested(env) ? { ...base, dpop: dpopConfig(env) } : base;
  return introspectionRequested(env, base.issuers) ? applyIntrospection(withDpop, env) : withDpop;
}
