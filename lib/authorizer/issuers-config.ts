/**
 * The trusted issuers, each with its JWKS and its profile, in one of two forms:
 * - AUTH_ISSUER (comma-separated), with AUTH_JWKS_URI, AUTH_ISSUER_PROFILE, AUTH_SCOPE_CLAIMS and
 *   AUTH_REQUIRE_AT_JWT applying in the same order or to all: the simple form, as before profiles;
 * - AUTH_ISSUERS, a JSON array with one object per issuer: several issuers, each described fully.
 */
import { ConfigError } from '../errors.js';
import { type IssuerProfile, issuerProfile, isProfileName, PROFILE_NAMES, type ProfileName } from '../jwt/issuer-profile.js';
import { isAllowedKeyUrl } from '../jwt/key-url.js';
import { SCOPE_CLAIMS, type ScopeClaim } from '../jwt/scopes.js';
import type { TrustedIssuer } from '../jwt/token-verifier.js';
import type { IntrospectionClient } from '../introspection/token-introspector.js';
import { boolean, type Environment, isSet, list } from './env.js';

/** One trusted issuer, as configured: its profile is always resolved. */
export interface IssuerConfig extends TrustedIssuer {
  profile: IssuerProfile;
  /** How the authorizer asks this issuer about its tokens (RFC 7662), when `introspect` is set. */
  introspection?: IntrospectionClient | undefined;
  /** The AUTH_ISSUERS entry's "introspection" object as given, until applyIntrospection reads it. */
  introspectionSettings?: unknown;
}

const SIMPLE_FORM = ['AUTH_ISSUER', 'AUTH_JWKS_URI', 'AUTH_ISSUER_PROFILE', 'AUTH_SCOPE_CLAIMS', 'AUTH_REQUIRE_AT_JWT'] as const;
const ENTRY_KEYS = new Set(['issuer', 'jwksUri', 'profile', 'scopeClaims', 'requireAccessTokenType', 'introspection']);

function checkUrl(where: string, value: string, what: string): void {
  // "localhost:4000" parses as a URL with the scheme "localhost:": say what is really missing.
  const schemeless = /^[a-z0-9.-]+(:\d+)?(\/|$)/i.test(value) && !/^https?:\/\//i.test(value);
  if (schemeless) throw new ConfigError(where, `"${value}" has no scheme: did you mean https://${value}? (http:// only for localhost)`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(where, `"${value}" is not an absolute URL; give the ${what} as https://host/path`);
  }
  if (!isAllowedKeyUrl(url)) {
    throw new ConfigError(where, `"${value}" must use https (plain http is only accepted for localhost)`);
  }
}

function profileName(where: string, value: unknown): ProfileName {
  if (!isProfileName(value)) {
    throw new ConfigError(where, `${JSON.stringify(value)} is not an issuer profile; choose from ${PROFILE_NAMES.join(', ')}`);
  }
  return value;
}

function scopeClaims(where: string, claims: readonly unknown[]): ScopeClaim[] {
  for (const claim of claims) {
    if (!(SCOPE_CLAIMS as readonly unknown[]).includes(claim)) {
      throw new ConfigError(where, `${JSON.stringify(claim)} is not a known scope claim; choose from ${SCOPE_CLAIMS.join(', ')}`);
    }
  }
  if (claims.length === 0) throw new ConfigError(where, 'lists no scope claim; leave it out for the profile\'s own');
  return claims as ScopeClaim[];
}

/** The same issuer twice would make its keys and profile ambiguous. */
function refuseDuplicates(where: string, issuers: readonly IssuerConfig[]): void {
  const seen = new Set<string>();
  for (const { issuer } of issuers) {
    if (seen.has(issuer)) throw new ConfigError(where, `lists the issuer "${issuer}" twice`);
    seen.add(issuer);
  }
}

function simpleForm(env: Environment): IssuerConfig[] {
  const issuers = list(env['AUTH_ISSUER'] ?? '');
  if (issuers.length === 0) {
    throw new ConfigError('AUTH_ISSUER', 'is required: set it to the exact "iss" value of your tokens, e.g. https://example.auth0.com/ (several issuers: comma-separated, or AUTH_ISSUERS)');
  }
  const jwksUris = list(env['AUTH_JWKS_URI'] ?? '');
  if (jwksUris.length > 0 && jwksUris.length !== issuers.length) {
    throw new ConfigError('AUTH_JWKS_URI', `has ${jwksUris.length} URL(s) for ${issuers.length} issuer(s); give one JWKS URL per AUTH_ISSUER entry, in the same order, or unset it to use OpenID discovery`);
  }
  const profiles = list(env['AUTH_ISSUER_PROFILE'] ?? '');
  if (profiles.length > 1 && profiles.length !== issuers.length) {
    throw new ConfigError('AUTH_ISSUER_PROFILE', `has ${profiles.length} profiles for ${issuers.length} issuer(s); give one for all, or one per AUTH_ISSUER entry in the same order`);
  }
  const claims = isSet(env, 'AUTH_SCOPE_CLAIMS') ? scopeClaims('AUTH_SCOPE_CLAIMS', list(env['AUTH_SCOPE_CLAIMS']!)) : undefined;
  const requireAccessTokenType = isSet(env, 'AUTH_REQUIRE_AT_JWT') ? boolean(env, 'AUTH_REQUIRE_AT_JWT', false) : undefined;
  const configured = issuers.map((issuer, index) => {
    const jwksUri = jwksUris[index];
    if (jwksUri !== undefined) checkUrl('AUTH_JWKS_URI', jwksUri, 'JWKS URL');
    // Discovery derives a URL from the issuer, so the issuer must be one.
    else checkUrl('AUTH_ISSUER', issuer, 'issuer (or set AUTH_JWKS_URI)');
    const name = profileName('AUTH_ISSUER_PROFILE', profiles[profiles.length > 1 ? index : 0] ?? 'rfc9068');
    return { issuer, jwksUri, profile: issuerProfile(name, { scopeClaims: claims, requireAccessTokenType }) };
  });
  refuseDuplicates('AUTH_ISSUER', configured);
  return configured;
}

function entryOf(raw: unknown, index: number): IssuerConfig {
  const where = `AUTH_ISSUERS[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(where, 'must be an object: {"issuer": "https://…", "profile": "…", "jwksUri": "…"}');
  }
  const entry = raw as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.has(key)) throw new ConfigError(`${where}.${key}`, `is not a setting of an issuer; use ${[...ENTRY_KEYS].join(', ')}`);
  }
  const { issuer, jwksUri, profile, scopeClaims: claims, requireAccessTokenType } = entry;
  if (typeof issuer !== 'string' || issuer === '') throw new ConfigError(`${where}.issuer`, 'is required: the exact "iss" value of this issuer\'s tokens');
  if (jwksUri !== undefined && (typeof jwksUri !== 'string' || jwksUri === '')) throw new ConfigError(`${where}.jwksUri`, 'must be a URL string, or left out for OpenID discovery');
  if (jwksUri !== undefined) checkUrl(`${where}.jwksUri`, jwksUri as string, 'JWKS URL');
  else checkUrl(`${where}.issuer`, issuer, 'issuer (or give jwksUri)');
  if (claims !== undefined && !Array.isArray(claims)) throw new ConfigError(`${where}.scopeClaims`, 'must be an array of claim names, e.g. ["scp", "roles"]');
  if (requireAccessTokenType !== undefined && typeof requireAccessTokenType !== 'boolean') {
    throw new ConfigError(`${where}.requireAccessTokenType`, 'must be true or false');
  }
  const configured: IssuerConfig = {
    issuer,
    jwksUri: jwksUri as string | undefined,
    profile: issuerProfile(profileName(`${where}.profile`, profile ?? 'rfc9068'), {
      scopeClaims: claims === undefined ? undefined : scopeClaims(`${where}.scopeClaims`, claims),
      requireAccessTokenType: requireAccessTokenType as boolean | undefined,
    }),
  };
  const introspection = entry['introspection'];
  return introspection === undefined ? configured : { ...configured, introspectionSettings: introspection };
}

function fullForm(env: Environment): IssuerConfig[] {
  const mixed = SIMPLE_FORM.filter((variable) => isSet(env, variable));
  if (mixed.length > 0) {
    throw new ConfigError('AUTH_ISSUERS', `is set together with ${mixed.join(', ')}; describe every issuer in AUTH_ISSUERS alone, or unset it and use AUTH_ISSUER`);
  }
  let document: unknown;
  try {
    document = JSON.parse(env['AUTH_ISSUERS']!);
  } catch {
    throw new ConfigError('AUTH_ISSUERS', 'is not valid JSON; give an array such as [{"issuer":"https://…/","profile":"okta"}]');
  }
  if (!Array.isArray(document) || document.length === 0) {
    throw new ConfigError('AUTH_ISSUERS', 'must be a non-empty JSON array of issuers, e.g. [{"issuer":"https://…/","profile":"okta"}]');
  }
  const issuers = document.map(entryOf);
  refuseDuplicates('AUTH_ISSUERS', issuers);
  return issuers;
}

export function parseTrustedIssuers(env: Environment): IssuerConfig[] {
  return isSet(env, 'AUTH_ISSUERS') ? fullForm(env) : simpleForm(env);
}
