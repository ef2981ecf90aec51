/**
 * How one issuer's access tokens are read: where the scopes are, which claim names the client,
 * how a machine token and an ID token are recognised, and whether `client_id` stands in for a
 * missing `aud`. Providers agree on the signature and on `iss`/`exp`, and on little else.
 * Pure: a profile is data and functions of a verified payload. Sources are in the README
 * ("Identity providers").
 */
import type { JsonObject } from './decode.js';
import type { ScopeClaim } from './scopes.js';

export const PROFILE_NAMES = ['rfc9068', 'auth0', 'okta', 'entra', 'keycloak', 'cognito'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/**
 * `user`: a resource owner is present (positive evidence under the profile). `client`: a machine
 * token (client credentials, app-only, service account). `unknown`: the profile cannot tell, and
 * user-only routes refuse it.
 */
export type TokenUse = 'user' | 'client' | 'unknown';

/** What a profile decides from a payload whose signature and registered claims were checked. */
export interface TokenKind {
  /** Why this is not an access token at all (an ID token), or undefined. */
  idToken: string | undefined;
  /** Why the payload breaks the profile's own rules (claim_invalid), or undefined. */
  invalid: string | undefined;
  tokenUse: TokenUse;
}

export interface IssuerProfile {
  readonly name: ProfileName;
  /** Claims that carry granted scopes, all of them read. */
  readonly scopeClaims: readonly ScopeClaim[];
  /** Claims that name the client, first present wins. */
  readonly clientIdClaims: readonly string[];
  /** Require the JOSE header `typ: at+jwt` (RFC 9068 §2.1). */
  readonly requireAccessTokenType: boolean;
  /**
   * Cognito: access tokens carry no `aud`; their `client_id` is matched against the route table's
   * `clientIds` instead, and `aud` is not required.
   */
  readonly clientIdAsAudience: boolean;
  /** The token's kind under this profile; `clientId` is the first of clientIdClaims present. */
  kindOf(payload: JsonObject, subject: string, clientId: string | undefined): TokenKind;
}

const isString = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * Markers that only ID tokens carry, whatever the issuer: OIDC's `nonce`, `at_hash` and `c_hash`
 * (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11), Cognito's `token_use: id` and Keycloak's payload
 * `typ: ID`. An ID token tells a client who signed in; it grants nothing to an API.
 */
function genericIdTokenMarker(payload: JsonObject, markers: readonly string[] = ['nonce', 'at_hash', 'c_hash']): string | undefined {
  if (payload['token_use'] === 'id') return '"token_use" is "id"';
  if (typeof payload['typ'] === 'string' && payload['typ'].toLowerCase() === 'id') return 'payload "typ" is "ID"';
  for (const claim of markers) {
    if (claim in payload) return `it carries "${claim}", which only ID tokens do`;
  }
  return undefined;
}

const kind = (tokenUse: TokenUse, idToken?: string, invalid?: string): TokenKind => ({ tokenUse, idToken, invalid });

/** Auth0 marks client-credentials tokens with `gty`; honoured by every profile that can meet one. */
const isAuth0ClientCredentials = (payload: JsonObject): boolean => payload['gty'] === 'client-credentials';

type Preset = Omit<IssuerProfile, 'name'>;

const PRESETS: Record<ProfileName, Preset> = {
  // RFC 9068 §2.2: `client_id` is required, and a token without a resource owner names the
  // client in `sub`. A `sub` other than the client id is the resource owner.
  rfc9068: {
    scopeClaims: ['scope'],
    clientIdClaims: ['client_id', 'azp'],
    requireAccessTokenType: false,
    clientIdAsAudience: false,
    kindOf(payload, subject, clientId) {
      const idToken = genericIdTokenMarker(payload);
      if (isAuth0ClientCredentials(payload)) return kind('client', idToken);
      if (clientId === undefined) return kind('unknown', idToken);
      return kind(subject === clientId ? 'client' : 'user', idToken);
    },
  },
  // Auth0: a client-credentials token has `gty: client-credentials` and `sub` "<client id>@clients";
  // a user's `sub` is "<connection>|<id>". RBAC permissions are in `permissions`.
  auth0: {
    scopeClaims: ['scope', 'permissions'],
    clientIdClaims: ['azp', 'client_id'],
    requireAccessTokenType: false,
    clientIdAsAudience: false,
    kindOf(payload, subject) {
      const idToken = genericIdTokenMarker(payload);
      if (isAuth0ClientCredentials(payload) || subject.endsWith('@clients')) return kind('client', idToken);
      return kind(subject.includes('|') ? 'user' : 'unknown', idToken);
    },
  },
  // Okta: `cid` names the client, `uid` the user (only in tokens a user took part in); a
  // client-credentials token has `sub` = `cid`. Okta access tokens always carry `cid`; its ID
  // tokens never do.
  okta: {
    scopeClaims: ['scp'],
    clientIdClaims: ['cid'],
    requireAccessTokenType: false,
    clientIdAsAudience: false,
    kindOf(payload, subject, clientId) {
      const idToken = genericIdTokenMarker(payload) ?? (clientId === undefined ? 'an Okta access token always carries "cid"; this one has none' : undefined);
      if (clientId !== undefined && subject === clientId) return kind('client', idToken);
      return kind(isString(payload['uid']) ? 'user' : 'unknown', idToken);
    },
  },
  // Entra ID: delegated permissions in `scp` (a space-separated string), app permissions in
  // `roles`. An app-only token has `idtyp: app` (optional claim) or no `scp`. The client is `azp`
  // (v2.0) or `appid` (v1.0); ID tokens carry neither.
  entra: {
    scopeClaims: ['scp', 'roles'],
    clientIdClaims: ['azp', 'appid'],
    requireAccessTokenType: false,
    clientIdAsAudience: false,
    kindOf(payload, _subject, clientId) {
      const idToken = genericIdTokenMarker(payload) ?? (clientId === undefined ? 'an Entra ID access token names its client in "azp" (v2.0) or "appid" (v1.0); this one names none' : undefined);
      const idtyp = payload['idtyp'];
      if (idtyp === 'app') return kind('client', idToken);
      if (idtyp === 'user') return kind('user', idToken);
      if (idtyp !== undefined) return kind('unknown', idToken, `"idtyp" is ${JSON.stringify(idtyp)}, neither "app" nor "user"`);
      // Delegated permissions exist only where a user signed in; without them the token is app-only.
      return kind(isString(payload['scp']) ? 'user' : 'client', idToken);
    },
  },
  // Keycloak: payload `typ` is "Bearer" for access tokens ("ID" and "Refresh" otherwise); `azp`
  // names the client. A service account is a user named "service-account-<client>", and the
  // service-account mappers add `client_id` (newer releases) or `clientId`. Before Keycloak 25,
  // access tokens carried the authorization request's `nonce` too, so `typ: Bearer` outranks it.
  keycloak: {
    scopeClaims: ['scope'],
    clientIdClaims: ['azp'],
    requireAccessTokenType: false,
    clientIdAsAudience: false,
    kindOf(payload) {
      const typ = payload['typ'];
      const idToken = genericIdTokenMarker(payload, typ === 'Bearer' ? ['at_hash', 'c_hash'] : undefined);
      const invalid = typ !== undefined && typ !== 'Bearer' && idToken === undefined ? `payload "typ" is ${JSON.stringify(typ)}, not "Bearer"` : undefined;
      const username = payload['preferred_username'];
      if ((isString(username) && username.startsWith('service-account-')) || 'client_id' in payload || 'clientId' in payload) {
        return kind('client', idToken, invalid);
      }
      // Lightweight access tokens leave preferred_username out: then the kind cannot be told.
      return kind(isString(username) ? 'user' : 'unknown', idToken, invalid);
    },
  },
  // Amazon Cognito user pools: `token_use` is "access" or "id"; access tokens carry `client_id`
  // and no `aud`; a user's token has `username`, a client-credentials token has `sub` = `client_id`.
  cognito: {
    scopeClaims: ['scope'],
    clientIdClaims: ['client_id'],
    requireAccessTokenType: false,
    clientIdAsAudience: true,
    kindOf(payload, subject, clientId) {
      const idToken = genericIdTokenMarker(payload);
      const invalid = payload['token_use'] !== 'access' && idToken === undefined
        ? `"token_use" is ${payload['token_use'] === undefined ? 'missing' : JSON.stringify(payload['token_use'])}; a Cognito access token has "access"`
        : undefined;
      if (clientId !== undefined && subject === clientId) return kind('client', idToken, invalid);
      return kind(isString(payload['username']) && clientId !== undefined ? 'user' : 'unknown', idToken, invalid);
    },
  },
};

export interface ProfileOverrides {
  scopeClaims?: readonly ScopeClaim[] | undefined;
  requireAccessTokenType?: boolean | undefined;
}

/** A named preset, with the scope claims and the `typ` rule overridden where the operator says so. */
export function issuerProfile(name: ProfileName, overrides: ProfileOverrides = {}): IssuerProfile {
  const preset = PRESETS[name];
  return Object.freeze({
    ...preset,
    name,
    scopeClaims: Object.freeze([...(overrides.scopeClaims ?? preset.scopeClaims)]),
    requireAccessTokenType: overrides.requireAccessTokenType ?? preset.requireAccessTokenType,
  });
}

export function isProfileName(value: unknown): value is ProfileName {
  return typeof value === 'string' && (PROFILE_NAMES as readonly string[]).includes(value);
}
