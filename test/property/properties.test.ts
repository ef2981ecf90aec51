/*
 * Property-based tests (fast-check) for the authorizer: header parsing, JWT decoding, scope claims,
 * policy soundness over the real route table, and the real Lambda handler end to end against a
 * real JWKS server on 127.0.0.1.
 *
 * Every property runs FUZZ_RUNS × its own weight times (FUZZ_RUNS defaults to 200: about 10 s for
 * the file on a 2-core runner). A failure prints the shrunk counterexample, the failed assertion,
 * and the `seed` and `path` that replay it.
 *
 * Long fuzz campaign (run the file directly: `npm run test:all` caps a test file at 300 s):
 *
 *   FUZZ_RUNS=100000 node --import tsx --test --test-timeout=0 test/properties.test.ts
 *
 *   # the same campaign, reproducibly (any integer seed)
 *   FUZZ_RUNS=100000 FUZZ_SEED=42 node --import tsx --test --test-timeout=0 test/properties.test.ts
 *
 *   # one area overnight, with the log kept; patterns: parseBearerToken, decodeJwt, grantedScopes,
 *   # 'policy soundness', 'end to end', 'one rule broken', 'single-character mutations'
 *   FUZZ_RUNS=1000000 nohup node --import tsx --test --test-timeout=0 \
 *     --test-name-pattern='end to end' test/properties.test.ts > fuzz.log 2>&1 &
 *
 *   # replay a failure: its seed and path, with the failing property selected
 *   FUZZ_SEED=<seed> FUZZ_PATH='<path>' node --import tsx --test \
 *     --test-name-pattern='<test name>' test/properties.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import fc from 'fast-check';
import routeTableDocument from '../../routes.json' with { type: 'json' };
import { permissionsOf } from '../../lib/authorizer/access.js';
import { createAuthorizer } from '../../lib/authorizer/authorizer.js';
import { parseBearerToken } from '../../lib/authorizer/bearer.js';
import type { TokenClaims } from '../../lib/jwt/claims.js';
import { loadConfig } from '../../lib/authorizer/config.js';
import { AuthError } from '../../lib/errors.js';
import { decodeJwt } from '../../lib/jwt/decode.js';
import { authorizerContext, buildPolicy } from '../../lib/authorizer/policy.js';
import { findRoute, parseRouteTable, type RouteTable, RouteTableError } from '../../lib/authorizer/route-table.js';
import { grantedScopes, SCOPE_CLAIMS, type ScopeClaim } from '../../lib/jwt/scopes.js';
import type { TokenVerifier } from '../../lib/jwt/token-verifier.js';
import { b64url, CALENDAR_AUDIENCE, GEOCODING_AUDIENCE, generateTestKey, jwks, signWith, type TestKey } from '../helpers/jwt.js';
import { JwksServer } from '../helpers/jwks-server.js';
import { policyAllows } from '../helpers/policy.js';

// ---------------------------------------------------------------------------------------------
// Run configuration
// ---------------------------------------------------------------------------------------------

const envNumber = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name}="${raw}" is not a number`);
  return value;
};

const RUNS = Math.max(1, Math.floor(envNumber('FUZZ_RUNS') ?? 200));
const SEED = envNumber('FUZZ_SEED');
const REPLAY_PATH = process.env['FUZZ_PATH'];

/** fast-check parameters for a property worth `weight` × FUZZ_RUNS runs. */
function runs(weight: number): { numRuns: number; seed?: number; path?: string; includeErrorInReport: boolean } {
  return {
    numRuns: Math.max(1, Math.round(RUNS * weight)),
    // node:test does not print an Error's cause: put the failed assertion in the report itself.
    includeErrorInReport: true,
    ...(SEED === undefined ? {} : { seed: SEED }),
    ...(REPLAY_PATH === undefined || REPLAY_PATH === '' ? {} : { path: REPLAY_PATH }),
  };
}

// Every assert.ok below carries a message: without one, node:assert re-reads and re-parses the
// transpiled source to describe the failure, which can take minutes on a failing property.

// ---------------------------------------------------------------------------------------------
// Shared helpers, written independently of lib/ so that they can disagree with it
// ---------------------------------------------------------------------------------------------

/** RFC 6749 §3.3 scope-token, by code point rather than by regular expression. */
function isScopeToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (!(code === 0x21 || (code >= 0x23 && code <= 0x5b) || (code >= 0x5d && code <= 0x7e))) return false;
  }
  return true;
}

/** IAM-style glob: `*` matches any run of characters (including `/`), everything else is literal. */
function globMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === value[v]) {
      p += 1;
      v += 1;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p;
      resume = v;
      p += 1;
    } else if (star !== -1) {
      p = star + 1;
      resume += 1;
      v = resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p += 1;
  return p === pattern.length;
}

/** Applies character edits (replace, insert, delete) to a string. */
interface Edit { kind: 'replace' | 'insert' | 'delete'; at: number; char: string }
function applyEdits(value: string, edits: readonly Edit[]): string {
  let result = value;
  for (const { kind, at, char } of edits) {
    const index = at % (result.length + 1);
    if (kind === 'insert') result = result.slice(0, index) + char + result.slice(index);
    else if (index < result.length) result = result.slice(0, index) + (kind === 'replace' ? char : '') + result.slice(index + 1);
  }
  return result;
}

const B64TOKEN_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/'];
const BASE64URL_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** Characters an attacker would try: separators, padding, whitespace, look-alikes, controls. */
const hostileChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BASE64URL_CHARS) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '.', '=', '+', '/', '~', ' ', '\t', '\n', '\r', '\v', '\f', '\0', '"', '\\', ',', ':', '%', '*',
      '\u00a0', '\u2028', '\u3000', '\ufeff', '\u017f' /* ſ */, '\u212a' /* Kelvin K */, '\u0130', '\ud800', 'é',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const editsArb = (maxLength: number) => fc.array(
  fc.record({ kind: fc.constantFrom<Edit['kind']>('replace', 'insert', 'delete'), at: fc.nat(), char: hostileChar }),
  { minLength: 1, maxLength },
);

/** A b64token (RFC 6750 §2.1): token68 characters, then optional `=` padding. */
const b64tokenArb = (maxLength: number) => fc
  .tuple(fc.string({ unit: fc.constantFrom(...B64TOKEN_CHARS), minLength: 1, maxLength }), fc.string({ unit: fc.constant('='), maxLength: 3 }))
  .map(([body, padding]) => body + padding);

/** `Bearer <token>` with arbitrary scheme casing and the whitespace the grammar allows. */
const bearerHeaderArb = (maxTokenLength: number) => fc.record({
  lead: fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 }),
  scheme: fc.mixedCase(fc.constant('bearer')),
  gap: fc.string({ unit: fc.constant(' '), minLength: 1, maxLength: 3 }),
  token: b64tokenArb(maxTokenLength),
  trail: fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 }),
});
const joinHeader = (h: { lead: string; scheme: string; gap: string; token: string; trail: string }, token = h.token): string =>
  `${h.lead}${h.scheme}${h.gap}${token}${h.trail}`;

/** Strings of every kind: printable ASCII, any code point, raw bytes. */
const anyString = (maxLength = 64) => fc.oneof(
  fc.string({ maxLength }),
  fc.string({ unit: 'binary', maxLength }),
  fc.string({ unit: 'binary-ascii', maxLength }),
);

// The real route table, read straight from routes.json (not through parseRouteTable) for the oracle.
interface SpecRoute { audience: string; method: string; path: string; scopes: string[]; requireUser: boolean }
const routesDocument = routeTableDocument as unknown as {
  apis: { audience: string; routes: { method: string; path: string; scopes: string[]; requireUser: boolean }[] }[];
};
const SPEC_ROUTES: SpecRoute[] = routesDocument.apis.flatMap((api) => api.routes.map((route) => ({ audience: api.audience, ...route })));
const REAL_AUDIENCES = routesDocument.apis.map((api) => api.audience);
const TABLE: RouteTable = parseRouteTable(routeTableDocument);
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

const concretePath = (template: string, id: string): string => template.replace(/\{[^}]+\}/g, id);
const resourcePattern = (route: SpecRoute): string => `${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`;

interface RuleClaims { audiences: readonly string[]; scopes: ReadonlySet<string>; tokenUse: 'user' | 'client' | 'unknown' }
/** What the route table promises: the API's audience, every scope, and a user when required. */
const rulesPermit = (route: SpecRoute, claims: RuleClaims): boolean =>
  claims.audiences.includes(route.audience)
  && route.scopes.every((scope) => claims.scopes.has(scope))
  && (!route.requireUser || claims.tokenUse === 'user');

/**
 * An id as API Gateway puts it in a path: one non-empty segment. No line terminators: the ARN
 * parser refuses them (fail closed), and test/helpers/policy.ts matches `*` with a `.` that
 * stops at them.
 */
const idArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/),
  anyString(8).filter((id) => id !== '' && !/[/\n\r\u2028\u2029]/.test(id)),
);

interface StageParts { partition: string; region: string; account: string; apiId: string; stage: string }
const stagePrefixOf = (s: StageParts): string => `arn:${s.partition}:execute-api:${s.region}:${s.account}:${s.apiId}/${s.stage}`;
/** Stage names as API Gateway allows them. */
const awsStageName = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.constant('$default'));
const stageArb = (stage = awsStageName) => fc.record({
  partition: fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'),
  region: fc.oneof(fc.constantFrom('eu-west-1', 'us-east-1'), fc.stringMatching(/^[a-z]{2}-[a-z]{4,9}-[1-9]$/)),
  account: fc.oneof(fc.stringMatching(/^[0-9]{12}$/), fc.constant('random-account-id')),
  apiId: fc.stringMatching(/^[a-z0-9]{10}$/),
  stage,
});
/** The same API in other stages, other APIs in the same stage, other regions, accounts, partitions. */
function otherStagePrefixes(s: StageParts): string[] {
  const other = (part: keyof StageParts, value: string) => stagePrefixOf({ ...s, [part]: value });
  return [
    other('stage', `${s.stage}x`), other('stage', `x${s.stage}`), other('stage', s.stage === 'prod' ? 'dev' : 'prod'),
    other('apiId', `${s.apiId}x`), other('apiId', `x${s.apiId}`),
    other('region', s.region === 'eu-west-1' ? 'us-east-1' : 'eu-west-1'),
    other('account', s.account === '123456789012' ? '210987654321' : '123456789012'),
    other('partition', s.partition === 'aws' ? 'aws-cn' : 'aws'),
  ];
}

/** Paths made of real segments, near misses and junk. */
const randomPathArb = fc
  .array(fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('calendar', 'v1', 'events', 'geocoding', 'reverse', 'Events', 'v2') },
    { weight: 1, arbitrary: fc.constantFrom('', '*', '.', '..', '%2F', 'events ', '{id}') },
    { weight: 1, arbitrary: anyString(6) },
  ), { maxLength: 6 })
  .map((segments) => `/${segments.join('/')}`);

const requestArb = fc.oneof(
  // A real route, with a concrete id.
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...SPEC_ROUTES), idArb).map(([route, id]) => ({ method: route.method, path: concretePath(route.path, id) })) },
  // A real path with any method.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...SPEC_ROUTES), idArb, fc.constantFrom(...HTTP_METHODS)).map(([route, id, method]) => ({ method, path: concretePath(route.path, id) })) },
  // Anything that still parses as an execute-api ARN.
  { weight: 2, arbitrary: fc.record({ method: fc.stringMatching(/^[A-Z]{1,7}$/), path: randomPathArb }) },
);

function assertContextPrimitive(context: APIGatewayAuthorizerResult['context']): void {
  if (context === undefined || context === null) return;
  for (const [key, value] of Object.entries(context)) {
    assert.ok(['string', 'number', 'boolean'].includes(typeof value), `context.${key} is a ${typeof value}`);
  }
}

/** Every statement is an Allow or Deny of execute-api:Invoke on string resources. */
function assertPolicyShape(result: unknown): asserts result is APIGatewayAuthorizerResult {
  assert.equal(typeof result, 'object');
  assert.notEqual(result, null);
  const policy = result as APIGatewayAuthorizerResult;
  assert.equal(typeof policy.principalId, 'string');
  assert.equal(policy.policyDocument.Version, '2012-10-17');
  assert.ok(Array.isArray(policy.policyDocument.Statement) && policy.policyDocument.Statement.length > 0, 'no statement');
  for (const statement of policy.policyDocument.Statement) {
    assert.ok(statement.Effect === 'Allow' || statement.Effect === 'Deny', `Effect ${String(statement.Effect)}`);
    assert.ok('Action' in statement && statement.Action === 'execute-api:Invoke', 'Action is not execute-api:Invoke');
    assert.ok('Resource' in statement, 'no Resource');
    for (const resource of [statement.Resource].flat()) assert.equal(typeof resource, 'string');
  }
  assertContextPrimitive(policy.context);
}

// ---------------------------------------------------------------------------------------------
// 1. parseBearerToken
// ---------------------------------------------------------------------------------------------

describe('property: parseBearerToken', () => {
  /**
   * Either AuthError, or the credential itself: the input is `[ \t]* bearer 1*SP credential [ \t]*`
   * and the credential is non-empty, within the cap, and a substring of the input.
   * Since 749a90d the parser leaves the credential's characters to decodeJwt, so the b64token
   * charset is asserted where the two meet (checkParseThenDecode).
   */
  function checkParse(input: string, max: number): string | AuthError {
    let token: unknown;
    try {
      token = parseBearerToken(input, max);
    } catch (error) {
      assert.ok(error instanceof AuthError, `threw ${String(error)}`);
      assert.ok(['token_missing', 'scheme_invalid', 'token_too_large'].includes(error.code), error.code);
      return error;
    }
    assert.equal(typeof token, 'string');
    const value = token as string;
    assert.ok(value.length > 0 && value.length <= max, `token of ${value.length} characters, max ${max}`);
    let end = input.length;
    while (end > 0 && (input[end - 1] === ' ' || input[end - 1] === '\t')) end -= 1;
    assert.equal(input.slice(end - value.length, end), value, 'the token runs up to the trailing blanks');
    assert.notEqual(value[0], ' ', 'the token starts after the spaces');
    // `i` without `u`: no non-ASCII character folds onto an ASCII one.
    assert.match(input.slice(0, end - value.length), /^[ \t]*bearer +$/i, 'only blanks, the scheme and spaces precede the token');
    return value;
  }

  /** Whatever gets past both the header parser and the JWT decoder is a b64token (RFC 6750 §2.1). */
  function checkParseThenDecode(input: string, max: number): void {
    const token = checkParse(input, max);
    if (token instanceof AuthError) return;
    try {
      decodeJwt(token);
    } catch (error) {
      assert.ok(error instanceof AuthError && (error.code === 'token_malformed' || error.code === 'token_not_jwt'), `decodeJwt threw ${String(error)}`);
      return;
    }
    assert.match(token, /^[A-Za-z0-9\-._~+/]+=*$/, 'a credential that is not a b64token was decoded');
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, 'a credential that is not a compact JWS was decoded');
  }

  const smallJson = fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
  const jwtLike = fc.tuple(smallJson, smallJson, fc.uint8Array({ maxLength: 24 }))
    .map(([header, payload, signature]) => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${b64url(Buffer.from(signature))}`);

  it('arbitrary strings and mutated headers: the credential or an AuthError, and only b64tokens get past decodeJwt', () => {
    // Near misses of the grammar: other blanks, other separators, other schemes.
    const nearMiss = fc.record({
      lead: fc.constantFrom('', ' ', '\t', '\n', '\u00a0', '\r\n', '\ufeff'),
      scheme: fc.oneof(fc.mixedCase(fc.constant('bearer')), fc.constantFrom('bearer:', 'bearerx', 'bear', 'Basic', 'Bearer\u0000', 'Bearer=', 'B\u0435arer', '\u0299earer')),
      gap: fc.constantFrom(' ', '  ', '\t', ' \t', '\t ', '\u00a0', '', '\n', '\u3000', '\v'),
      token: fc.oneof(b64tokenArb(40), anyString(20)),
      trail: fc.constantFrom('', ' ', '\t', '\n', '\r\n', '\u00a0', ' x', '\t\t'),
    }).map(joinHeader);
    const inputArb = fc.oneof(
      anyString(80),
      nearMiss,
      fc.tuple(bearerHeaderArb(40), editsArb(3)).map(([header, edits]) => applyEdits(joinHeader(header), edits)),
      fc.tuple(bearerHeaderArb(1), jwtLike, editsArb(3)).map(([header, jwt, edits]) => applyEdits(joinHeader(header, jwt), edits)),
      fc.tuple(fc.string({ maxLength: 8 }), b64tokenArb(40), fc.string({ maxLength: 4 })).map(([scheme, token, rest]) => `${scheme} ${token}${rest}`),
    );
    fc.assert(fc.property(inputArb, fc.integer({ min: 1, max: 300 }), checkParseThenDecode), runs(10));
  });

  it('valid headers (any scheme casing, blanks) parse to their token, or are refused for size', () => {
    fc.assert(fc.property(bearerHeaderArb(700), fc.integer({ min: 1, max: 800 }), (header, max) => {
      const input = joinHeader(header);
      const outcome = checkParse(input, max);
      if (input.length > max + 32 || header.token.length > max) {
        assert.ok(outcome instanceof AuthError && outcome.code === 'token_too_large', `expected token_too_large, got ${String(outcome)}`);
      } else {
        assert.equal(outcome, header.token);
      }
    }), runs(5));
  });
});

// ---------------------------------------------------------------------------------------------
// 2. decodeJwt
// ---------------------------------------------------------------------------------------------

describe('property: decodeJwt', () => {
  const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
  const signatureBytes = fc.uint8Array({ maxLength: 80 }).map((bytes) => Buffer.from(bytes));

  /** What decodeJwt must call token_not_jwt: one b64token with no dot (opaque), or five base64url segments with a ciphertext (JWE). */
  const looksOpaqueOrJwe = (token: string): boolean => {
    const parts = token.split('.');
    if (parts.length === 1) return /^[A-Za-z0-9\-_~+/]+=*$/.test(token);
    return parts.length === 5 && parts.every((part) => /^[A-Za-z0-9_-]*$/.test(part)) && parts[0] !== '' && parts[3] !== '';
  };

  function checkDecode(token: string): void {
    let decoded: ReturnType<typeof decodeJwt>;
    try {
      decoded = decodeJwt(token);
    } catch (error) {
      assert.ok(error instanceof AuthError, `threw ${String(error)}`);
      assert.ok(error.code === 'token_malformed' || error.code === 'token_not_jwt', `refused as ${error.code}`);
      assert.equal(error.code === 'token_not_jwt', looksOpaqueOrJwe(token), `${error.code} for ${JSON.stringify(token)}`);
      return;
    }
    const parts = token.split('.');
    assert.equal(parts.length, 3);
    const [header, payload, signature] = parts as [string, string, string];
    for (const [segment, object] of [[header, decoded.header], [payload, decoded.payload]] as const) {
      assert.match(segment, /^[A-Za-z0-9_-]+$/, 'header and payload are strict base64url');
      assert.notEqual(segment.length % 4, 1, 'no whole number of bytes encodes to 1 mod 4 characters');
      assert.equal(typeof object, 'object');
      assert.notEqual(object, null);
      assert.ok(!Array.isArray(object), 'decoded to an array');
      assert.equal(Object.getPrototypeOf(object), Object.prototype);
      assert.deepEqual(object, JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')));
    }
    assert.match(signature, /^[A-Za-z0-9_-]*$/);
    assert.notEqual(signature.length % 4, 1, 'no whole number of bytes encodes to 1 mod 4 characters');
    assert.ok(Buffer.isBuffer(decoded.signature), 'signature is not a Buffer');
    assert.ok(decoded.signature.equals(Buffer.from(signature, 'base64url')));
    assert.equal(decoded.signingInput, `${header}.${payload}`);
  }

  it('arbitrary strings, mutated and re-assembled JWTs: objects, token_not_jwt (opaque or JWE only) or token_malformed, never another error', () => {
    const segmentArb = fc.oneof(
      jsonObject.map((value) => b64url(JSON.stringify(value))),
      fc.jsonValue({ maxDepth: 2 }).map((value) => b64url(JSON.stringify(value) ?? 'null')),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => b64url(Buffer.from(bytes))),
      anyString(20).map((text) => b64url(text)),
      fc.constantFrom('', 'e30', 'e30=', 'e30==', 'W10', 'bnVsbA', 'IiI', '77u_e30', 'eyJ9', 'e30.', 'A', 'AA', 'AAA'),
      anyString(12),
    );
    const validJwt = fc.tuple(jsonObject, jsonObject, signatureBytes).map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${b64url(s)}`);
    // Arbitrary JSON (arrays, strings, null…) as header and payload, with a well-formed signature.
    const reencoded = fc
      .tuple(fc.oneof(jsonObject, fc.jsonValue({ maxDepth: 2 })), fc.oneof(jsonObject, fc.jsonValue({ maxDepth: 2 })), signatureBytes)
      .map(([h, p, s]) => `${b64url(JSON.stringify(h) ?? '')}.${b64url(JSON.stringify(p) ?? '')}.${b64url(s)}`);
    const tokenArb = fc.oneof(
      anyString(60),
      reencoded,
      // One more character on the signature: a length of 1 mod 4 encodes no whole number of bytes.
      fc.tuple(validJwt, fc.constantFrom(...BASE64URL_CHARS)).map(([token, char]) => token + char),
      fc.tuple(validJwt, editsArb(4)).map(([token, edits]) => applyEdits(token, edits)),
      fc.tuple(validJwt, fc.constantFrom([0, 2, 1], [1, 0, 2], [2, 1, 0], [0, 0, 2], [1, 1, 2], [0, 1], [0, 1, 2, 2])).map(([token, order]) => {
        const parts = token.split('.');
        return order.map((index) => parts[index]).join('.');
      }),
      fc.array(segmentArb, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('.')),
    );
    fc.assert(fc.property(tokenArb, checkDecode), runs(10));
  });

  it('round trip: base64url-encoded JSON objects decode back deep-equal', () => {
    fc.assert(fc.property(jsonObject, jsonObject, signatureBytes, (header, payload, signature) => {
      const token = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${b64url(signature)}`;
      const decoded = decodeJwt(token);
      assert.deepEqual(decoded.header, JSON.parse(JSON.stringify(header)));
      assert.deepEqual(decoded.payload, JSON.parse(JSON.stringify(payload)));
      assert.ok(decoded.signature.equals(signature), 'signature bytes differ');
      checkDecode(token);
    }), runs(5));
  });
});

// ---------------------------------------------------------------------------------------------
// 3. grantedScopes
// ---------------------------------------------------------------------------------------------

describe('property: grantedScopes', () => {
  const scopeItem = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('read', 'write', 'admin', 'calendar:read', 'https://x/y', '~!#[]^') },
    { weight: 2, arbitrary: fc.constantFrom('', ' ', '  ', 'read write', 'a"b', 'a\\b', '\t', 'read\twrite', 'é', 'x\u0000', '\u00a0', 'read\n') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  );
  const scopeString = fc
    .tuple(fc.array(scopeItem, { maxLength: 5 }), fc.constantFrom(' ', '  ', '\t', ',', ' \t'), fc.constantFrom('', ' '), fc.constantFrom('', ' '))
    .map(([items, separator, lead, trail]) => lead + items.join(separator) + trail);
  const claimValue = fc.oneof(
    { weight: 3, arbitrary: scopeString },
    { weight: 3, arbitrary: fc.array(scopeItem, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.array(fc.oneof(scopeItem, fc.jsonValue({ maxDepth: 1 })), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
  const payloadArb = fc.record({ scope: claimValue, scp: claimValue, permissions: claimValue, roles: claimValue, other: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] });

  /** The scopes each configured claim literally holds, or 'invalid'. */
  function expectedScopes(payload: Record<string, unknown>, claims: readonly ScopeClaim[]): Set<string> | 'invalid' {
    const scopes = new Set<string>();
    for (const claim of claims) {
      const value = payload[claim];
      if (value === undefined) continue;
      let items: string[];
      if (typeof value === 'string' && (claim === 'scope' || claim === 'scp')) items = value.split(' ').filter((item) => item !== '');
      else if (claim !== 'scope' && Array.isArray(value) && value.every((item) => typeof item === 'string')) items = value as string[];
      else return 'invalid';
      for (const item of items) {
        if (!isScopeToken(item)) return 'invalid';
        scopes.add(item);
      }
    }
    return scopes;
  }

  it('arbitrary JSON under scope/scp/permissions/roles: a set of literal scope tokens, or claim_invalid', () => {
    fc.assert(fc.property(payloadArb, fc.shuffledSubarray([...SCOPE_CLAIMS]), (payload, claims) => {
      const expected = expectedScopes(payload, claims);
      let actual: Set<string>;
      try {
        actual = grantedScopes(payload, claims);
      } catch (error) {
        assert.ok(error instanceof AuthError, `threw ${String(error)}`);
        assert.equal(error.code, 'claim_invalid');
        assert.equal(expected, 'invalid', 'refused a valid scope claim');
        return;
      }
      assert.ok(actual instanceof Set, 'not a Set');
      assert.notEqual(expected, 'invalid', `accepted an invalid scope claim: ${JSON.stringify([...actual])}`);
      for (const scope of actual) {
        assert.equal(typeof scope, 'string');
        assert.ok(isScopeToken(scope), `not a scope token: ${JSON.stringify(scope)}`);
        // Literally present: a word of a configured string claim or an element of a configured array.
        assert.ok(claims.some((claim) => {
          const value = payload[claim];
          return (typeof value === 'string' && value.split(' ').includes(scope)) || (Array.isArray(value) && value.includes(scope));
        }), `scope ${JSON.stringify(scope)} is not in the configured claims`);
      }
      assert.deepEqual(actual, expected);
    }), runs(10));
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Policy soundness over the real route table
// ---------------------------------------------------------------------------------------------

describe('property: policy soundness (routes.json)', () => {
  const claimsArb: fc.Arbitrary<TokenClaims> = fc.record({
    issuer: fc.constant('https://issuer.example/'),
    subject: fc.string({ minLength: 1, maxLength: 16 }),
    audiences: fc.uniqueArray(fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...REAL_AUDIENCES) },
      { weight: 1, arbitrary: fc.constantFrom(CALENDAR_AUDIENCE.slice(0, -1), GEOCODING_AUDIENCE.toUpperCase(), 'calendar', '*', '') },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    ), { maxLength: 4 }),
    expiresAt: fc.integer({ min: 0, max: 2 ** 31 }),
    clientId: fc.option(fc.string({ minLength: 1, maxLength: 12 }), { nil: undefined }),
    scopes: fc.uniqueArray(fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('read', 'write', 'admin') },
      { weight: 1, arbitrary: fc.constantFrom('READ', 'read:all', 'Write', '*') },
      { weight: 1, arbitrary: fc.stringMatching(/^[\x21\x23-\x5b\x5d-\x7e]{1,8}$/) },
    ), { maxLength: 5 }).map((scopes) => new Set(scopes)),
    tokenUse: fc.constantFrom('user' as const, 'client' as const),
  });

  // The verifier is replaced by one that returns the claims under test, a fresh object each time so
  // that authorize() builds every policy anew instead of reusing one it derived before.
  let currentClaims: TokenClaims | undefined;
  const stubVerified = () => ({ claims: structuredClone(currentClaims!), kid: 'stub' });
  const stubVerifier = { verify: async () => stubVerified(), verifyNow: () => ({ verified: stubVerified(), cached: false }) } as unknown as TokenVerifier;
  const authorize = createAuthorizer({
    config: loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks' }),
    routes: TABLE,
    verifier: stubVerifier,
  });
  // And one that returns the very same verified object every time, as a warm container's decision
  // cache does: the policies it derived for the token are then reused, and must stay per stage.
  let warmVerified: { claims: TokenClaims; kid: string } | undefined;
  const warmAuthorize = createAuthorizer({
    config: loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks' }),
    routes: TABLE,
    verifier: { verify: async () => warmVerified!, verifyNow: () => ({ verified: warmVerified!, cached: true }) } as unknown as TokenVerifier,
  });

  const eventFor = (shape: 'TOKEN' | 'REQUEST' | 'HTTP', arn: string) => {
    const authorization = 'Bearer stub.stub.stub';
    if (shape === 'TOKEN') return { type: 'TOKEN', authorizationToken: authorization, methodArn: arn };
    if (shape === 'REQUEST') return { type: 'REQUEST', methodArn: arn, headers: { Authorization: authorization }, multiValueHeaders: { Authorization: [authorization] } };
    return { version: '2.0', type: 'REQUEST', routeArn: arn, headers: { authorization } };
  };

  /** An allowed ARN must sit in the request's stage and be covered by a route the claims satisfy. */
  function assertSound(policy: APIGatewayAuthorizerResult, claims: RuleClaims, prefix: string, arn: string): void {
    if (!policyAllows(policy, arn)) return;
    assert.ok(arn.startsWith(`${prefix}/`), `allows ${arn} outside the stage ${prefix}`);
    const rest = arn.slice(prefix.length + 1);
    assert.ok(
      SPEC_ROUTES.some((route) => rulesPermit(route, claims) && globMatch(resourcePattern(route), rest)),
      `allows ${arn}, which no route the token satisfies covers`,
    );
  }

  /** (a) soundness everywhere, (b) completeness in the request's own stage. */
  function checkPolicy(policy: APIGatewayAuthorizerResult, claims: RuleClaims, stage: StageParts, ids: readonly string[], requests: readonly { method: string; path: string }[]): void {
    const prefix = stagePrefixOf(stage);
    const others = otherStagePrefixes(stage);
    for (const route of SPEC_ROUTES) {
      for (const id of ids) {
        const path = concretePath(route.path, id);
        assert.equal(policyAllows(policy, `${prefix}/${route.method}${path}`), rulesPermit(route, claims), `${route.method} ${path}`);
        for (const method of HTTP_METHODS) assertSound(policy, claims, prefix, `${prefix}/${method}${path}`);
        for (const other of others) assert.equal(policyAllows(policy, `${other}/${route.method}${path}`), false, `allows ${other}/${route.method}${path}`);
      }
    }
    for (const { method, path } of requests) {
      assertSound(policy, claims, prefix, `${prefix}/${method}${path}`);
      for (const other of others) assert.equal(policyAllows(policy, `${other}/${method}${path}`), false);
    }
  }

  it('allows exactly the routes the claims satisfy, in the request stage only, whatever route was requested', async () => {
    await fc.assert(fc.asyncProperty(
      claimsArb, stageArb(), fc.array(requestArb, { minLength: 1, maxLength: 4 }), idArb, fc.constantFrom('TOKEN' as const, 'REQUEST' as const, 'HTTP' as const),
      async (claims, stage, requests, id, shape) => {
        const prefix = stagePrefixOf(stage);
        // The pure layer.
        const permitted = permissionsOf(TABLE, claims).permitted;
        const policy = buildPolicy(claims.subject, prefix, permitted, authorizerContext(claims));
        assertPolicyShape(policy);
        checkPolicy(policy, claims, stage, [id, 'x'], requests);
        assert.deepEqual(new Set(String(policy.context?.['scope']).split(' ').filter(Boolean)), claims.scopes);

        // Through authorize(): same policy whichever route was requested (API Gateway caches it per token).
        currentClaims = claims;
        warmVerified = { claims: structuredClone(claims), kid: 'stub' };
        const otherStage = { ...stage, stage: stage.stage === 'prod' ? 'dev' : 'prod' };
        const otherPolicy = buildPolicy(claims.subject, stagePrefixOf(otherStage), permitted, authorizerContext(claims));
        const servesAnApi = claims.audiences.some((audience) => REAL_AUDIENCES.includes(audience));
        // A refusal: HTTP APIs get a policy that allows nothing (a throw would be a 500), REST none.
        const assertRefusal = (result: APIGatewayAuthorizerResult | undefined): void => {
          if (shape === 'HTTP') {
            assertPolicyShape(result);
            checkPolicy(result, { audiences: [], scopes: new Set(), tokenUse: 'client' }, stage, [id], []);
          } else {
            assert.equal(result, undefined);
          }
        };
        for (const request of requests) {
          const arn = `${prefix}/${request.method}${request.path}`;
          const decision = await authorize(eventFor(shape, arn));
          if (decision.reason === 'event_invalid') {
            // Fail closed on an ARN it cannot read: only line terminators in the path can cause that here.
            assert.match(request.path, /[\n\r\u2028\u2029]/, `refused ${JSON.stringify(arn)} as unreadable`);
            assertRefusal(decision.result);
            continue;
          }
          if (!servesAnApi) {
            assert.equal(decision.outcome, 'unauthorized');
            assertRefusal(decision.result);
            continue;
          }
          assertPolicyShape(decision.result);
          assert.deepEqual(decision.result, policy, 'the policy depends on the requested route');
          // The warm path: the same token in this stage, in another stage, and in this one again.
          const elsewhere = `${stagePrefixOf(otherStage)}/${request.method}${request.path}`;
          assert.deepEqual((await warmAuthorize(eventFor(shape, arn))).result, policy, 'warm: the policy depends on the requested route');
          assert.deepEqual((await warmAuthorize(eventFor(shape, elsewhere))).result, otherPolicy, 'warm: another stage got this stage\'s policy');
          assert.deepEqual((await warmAuthorize(eventFor(shape, arn))).result, policy, 'warm: this stage got another stage\'s policy');
          // The outcome logged and counted is what the policy does to this ARN, both ways.
          assert.equal(decision.outcome === 'allow', policyAllows(decision.result, arn), `outcome ${decision.outcome} (${decision.reason}), but the policy ${policyAllows(decision.result, arn) ? 'allows' : 'refuses'} ${arn}`);
          const segments = request.path.slice(1).split('/');
          const specRoute = segments.includes('') ? undefined : SPEC_ROUTES.find((route) => route.method === request.method
            && route.path.slice(1).split('/').length === segments.length && globMatch(resourcePattern(route), `${request.method}${request.path}`));
          if (specRoute !== undefined) assert.equal(decision.outcome === 'allow', rulesPermit(specRoute, claims), `outcome for ${arn}`);
        }

        // Neighbours of this token (the other kind, one scope fewer, audiences in another order)
        // right after it: policies shared between tokens of one shape must not leak across shapes.
        const neighbours: TokenClaims[] = [{ ...claims, tokenUse: claims.tokenUse === 'user' ? 'client' : 'user' }, { ...claims, audiences: [...claims.audiences].reverse() }];
        if (claims.scopes.size > 0) neighbours.push({ ...claims, scopes: new Set([...claims.scopes].slice(1)) });
        for (const neighbour of neighbours) {
          if (!neighbour.audiences.some((audience) => REAL_AUDIENCES.includes(audience))) continue;
          currentClaims = neighbour;
          const { result } = await authorize(eventFor(shape, `${prefix}/GET/calendar/v1/events`));
          assertPolicyShape(result);
          checkPolicy(result, neighbour, stage, [id], []);
        }
      },
    ), runs(2));
  });

  it('a stage name holding IAM wildcards never widens the policy to other stages', async () => {
    const claims: TokenClaims = {
      issuer: 'https://issuer.example/', subject: 'usr', audiences: [...REAL_AUDIENCES], expiresAt: 2 ** 31,
      clientId: undefined, scopes: new Set(['read', 'write']), tokenUse: 'user',
    };
    await fc.assert(fc.asyncProperty(
      stageArb(fc.oneof(
        awsStageName,
        fc.tuple(fc.stringMatching(/^[a-z]{0,3}$/), fc.constantFrom('*', '?', '**', '*?', '[a]'), fc.stringMatching(/^[a-z]{0,3}$/)).map((parts) => parts.join('')),
        fc.string({ unit: fc.constantFrom('*', '?', 'p', 'r', 'o', 'd', '$', '-', '_', '.', ':'), minLength: 1, maxLength: 6 }),
      )), awsStageName, fc.constantFrom('TOKEN' as const, 'REQUEST' as const, 'HTTP' as const),
      async (stage, otherStage, shape) => {
        fc.pre(otherStage !== stage.stage);
        currentClaims = claims;
        const decision = await authorize(eventFor(shape, `${stagePrefixOf(stage)}/GET/calendar/v1/events`));
        if (decision.result === undefined) return;
        const elsewhere = `${stagePrefixOf({ ...stage, stage: otherStage })}/GET/calendar/v1/events`;
        assert.equal(policyAllows(decision.result, elsewhere), false, `stage "${stage.stage}" opens ${elsewhere}`);
      },
    ), runs(1));
  });

  it('the caller owns the result: mutating one result changes no later result, for this token or another', async () => {
    const prod = stagePrefixOf({ partition: 'aws', region: 'eu-west-1', account: '123456789012', apiId: 'abc123', stage: 'prod' });
    await fc.assert(fc.asyncProperty(claimsArb, fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom('TOKEN' as const, 'HTTP' as const), async (claims, otherSubject, shape) => {
      fc.pre(claims.audiences.some((audience) => REAL_AUDIENCES.includes(audience)));
      // Token A twice (a warm container's decision-cache hit returns the same object), and token B:
      // another subject with the same audiences, scopes and kind.
      const tokenA = { claims, kid: 'a' };
      const tokenB = { claims: { ...structuredClone(claims), subject: otherSubject }, kid: 'b' };
      let next: { claims: TokenClaims; kid: string } = tokenA;
      const isolated = createAuthorizer({
        config: loadConfig({ AUTH_ISSUER: 'https://issuer.example/', AUTH_JWKS_URI: 'https://issuer.example/jwks' }),
        routes: TABLE,
        verifier: { verify: async () => next, verifyNow: () => ({ verified: next, cached: true }) } as unknown as TokenVerifier,
      });
      const arn = `${prod}/GET/calendar/v1/events`;
      const first = await isolated(eventFor(shape, arn));
      assert.ok(first.result !== undefined, 'no result');
      // What a careless caller (a wrapper, a local emulator) might do with the result it owns.
      const statement = first.result.policyDocument.Statement[0] as { Effect: string; Resource: string[] };
      statement.Effect = 'Allow';
      statement.Resource.push(`${prod}/*`);
      if (first.result.context) first.result.context['scope'] = 'admin';

      next = tokenB;
      const other = await isolated(eventFor(shape, arn));
      assert.deepEqual(other.result, buildPolicy(otherSubject, prod, permissionsOf(TABLE, claims).permitted, authorizerContext(tokenB.claims)), 'another token got the mutated policy');
      next = tokenA;
      const again = await isolated(eventFor(shape, arn));
      assert.deepEqual(again.result, buildPolicy(claims.subject, prod, permissionsOf(TABLE, claims).permitted, authorizerContext(claims)), 'the same token got the mutated policy');
    }), runs(0.25));
  });
});

describe('property: policy soundness over arbitrary route tables', () => {
  // Small vocabularies so that routes overlap: literal vs {parameter}, nested under a parameter, greedy.
  const templateArb = fc
    .tuple(fc.array(fc.constantFrom('a', 'b', '{id}'), { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([segments, greedy]) => `/${segments.join('/')}${greedy ? '/{rest+}' : ''}`);
  const routeArb = fc.record({
    method: fc.constantFrom('GET', 'POST'),
    path: templateArb,
    scopes: fc.subarray(['read', 'write', 'admin']),
    requireUser: fc.boolean(),
  });
  const tableArb = fc
    .array(fc.array(routeArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 2 })
    .map((apis) => {
      const seen = new Set<string>();
      const document = {
        apis: apis.map((routes, index) => ({
          name: `api${index}`, audience: `aud-${index}`, function: `fn${index}`,
          routes: routes.filter((route) => {
            const shape = `${route.method} ${route.path.replace(/\{[^}]+\}/g, '{}')}`;
            if (seen.has(shape)) return false;
            seen.add(shape);
            return true;
          }),
        })).filter((api) => api.routes.length > 0),
      };
      return document;
    })
    .filter((document) => {
      try {
        parseRouteTable(document);
        return true;
      } catch (error) {
        if (error instanceof RouteTableError) return false;
        throw error;
      }
    });

  it('permittedRoutes and the Allow statement list exactly the routes whose audience, scopes and user rule the claims meet', () => {
    fc.assert(fc.property(
      tableArb,
      fc.record({ audiences: fc.subarray(['aud-0', 'aud-1', 'aud-2']), scopes: fc.subarray(['read', 'write', 'admin', 'other']).map((s) => new Set(s)), tokenUse: fc.constantFrom('user' as const, 'client' as const) }),
      (document, rules) => {
        const table = parseRouteTable(document);
        const claims: TokenClaims = { ...rules, issuer: 'i', subject: 's', expiresAt: 0, clientId: undefined };
        const expected = document.apis.flatMap((api) => api.routes.filter((route) => rulesPermit({ ...route, audience: api.audience }, claims)).map((route) => `${route.method} ${route.path}`));
        assert.deepEqual(permissionsOf(table, claims).permitted.map((route) => `${route.method} ${route.path}`), expected);
        const prefix = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
        const policy = buildPolicy('s', prefix, permissionsOf(table, claims).permitted, undefined);
        const statement = policy.policyDocument.Statement[0] as { Effect: string; Resource: string[] };
        if (expected.length === 0) {
          assert.deepEqual(statement, { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [`${prefix}/*`] });
        } else {
          assert.equal(statement.Effect, 'Allow');
          assert.deepEqual(statement.Resource, expected.map((key) => `${prefix}/${key.replace(' ', '').replace(/\{[^}]+\}/g, '*')}`));
        }
      },
    ), runs(2));
  });

  it('never allows a request whose route the token does not satisfy', () => {
    fc.assert(fc.property(
      tableArb,
      fc.record({ audiences: fc.subarray(['aud-0', 'aud-1']), scopes: fc.subarray(['read', 'write', 'admin']).map((s) => new Set(s)), tokenUse: fc.constantFrom('user' as const, 'client' as const) }),
      fc.array(fc.record({ method: fc.constantFrom('GET', 'POST'), segments: fc.array(fc.constantFrom('a', 'b', 'x'), { minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 6 }),
      (document, rules, requests) => {
        const table = parseRouteTable(document);
        const claims: TokenClaims = { ...rules, issuer: 'i', subject: 's', expiresAt: 0, clientId: undefined };
        const prefix = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
        const policy = buildPolicy('s', prefix, permissionsOf(table, claims).permitted, undefined);
        for (const { method, segments } of requests) {
          const path = `/${segments.join('/')}`;
          const route = findRoute(table, method, path);
          if (route === undefined) continue; // API Gateway answers such a request itself.
          const satisfied = rulesPermit({ audience: route.api.audiences[0]!, method: route.method, path: route.path, scopes: route.scopes, requireUser: route.requireUser }, claims);
          if (!satisfied) assert.equal(policyAllows(policy, `${prefix}/${method}${path}`), false, `${method} ${path} is routed to ${route.method} ${route.path}, which the token does not satisfy`);
        }
      },
    ), runs(2));
  });
});

// ---------------------------------------------------------------------------------------------
// 5 and 6. The real handler, end to end, against a real JWKS server
// ---------------------------------------------------------------------------------------------

describe('property: end to end through handlers/authorizer.ts', () => {
  const server = new JwksServer();
  let handler: (event: unknown) => Promise<APIGatewayAuthorizerResult>;
  let issuer = '';

  // Trusted keys (published) and attacker keys (never published; some reuse a trusted kid).
  const trustedEs = generateTestKey('ES256', 'es-1');
  const trustedEd = generateTestKey('EdDSA', 'ed-1');
  // Published pinned to RS256 (JWK "alg"): a PS256 signature by the same key must not pass.
  const rsaKey = generateTestKey('RS256', 'rs-1');
  const trustedRs: TestKey = { ...rsaKey, jwk: { ...rsaKey.jwk, alg: 'RS256' } };
  interface Signer { key: TestKey; trusted: boolean }
  // Generators pick signers by name, so that counterexamples print short.
  const SIGNERS = new Map<string, Signer>([
    ['es-1', { key: trustedEs, trusted: true }],
    ['ed-1', { key: trustedEd, trusted: true }],
    ['rs-1', { key: trustedRs, trusted: true }],
    ['attacker es-1', { key: generateTestKey('ES256', 'es-1'), trusted: false }],
    ['attacker ed-1', { key: generateTestKey('EdDSA', 'ed-1'), trusted: false }],
    ['attacker evil', { key: generateTestKey('ES256', 'evil'), trusted: false }],
  ]);
  const signerNamed = (name: string): Signer => SIGNERS.get(name)!;
  const trustedSignerArb = fc.oneof({ weight: 6, arbitrary: fc.constant('es-1') }, { weight: 2, arbitrary: fc.constant('ed-1') }, { weight: 1, arbitrary: fc.constant('rs-1') });
  const TOLERANCE = 5;
  const STAGE = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';

  // Everything the handler writes to stdout (its JSON log lines), to prove no token reaches a log.
  const logLines: string[] = [];
  const originalWrite = process.stdout.write.bind(process.stdout);

  before(async () => {
    await server.start();
    issuer = server.issuer;
    server.jwks = jwks(trustedEs, trustedEd, trustedRs);
    // The oracle below assumes the defaults; nothing from the caller's environment may change them.
    for (const name of Object.keys(process.env)) if (name.startsWith('AUTH_') || name === 'POWERTOOLS_LOG_LEVEL') delete process.env[name];
    process.env['AUTH_ISSUER'] = issuer;
    process.env['AUTH_JWKS_URI'] = server.jwksUri;
    process.env['AUTH_LOG_LEVEL'] = 'debug';
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      // Swallow (and keep) the handler's log lines; let everything else (the test reporter) through.
      if (typeof chunk === 'string' && chunk.startsWith('{"level"')) {
        logLines.push(chunk);
        return true;
      }
      return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    ({ handler } = await import('../../handlers/authorizer.js'));
  });

  after(async () => {
    process.stdout.write = originalWrite;
    await server.stop();
  });

  const nowSeconds = (): number => Math.floor(Date.now() / 1000);

  /** Settles within `ms` or fails: a hang detector, not a performance assertion. */
  async function callHandler(event: unknown, ms = 2000): Promise<{ result?: APIGatewayAuthorizerResult; error?: unknown }> {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = Symbol('hang');
    const deadline = new Promise<typeof hang>((resolve) => { timer = setTimeout(() => resolve(hang), ms); });
    try {
      const outcome = await Promise.race([handler(event).then((result) => ({ result }), (error: unknown) => ({ error })), deadline]);
      assert.notEqual(outcome, hang, `handler did not settle within ${ms} ms`);
      assert.ok(performance.now() - started < ms, `handler took ${performance.now() - started} ms`);
      return outcome as { result?: APIGatewayAuthorizerResult; error?: unknown };
    } finally {
      clearTimeout(timer);
    }
  }

  function assertUnauthorized(error: unknown): void {
    assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`);
    assert.equal(Object.getPrototypeOf(error), Error.prototype, `threw a ${error.constructor.name}`);
    assert.equal(error.message, 'Unauthorized');
  }

  /** No log line written since `mark` holds any of these secrets. */
  function assertNotLogged(mark: number, secrets: readonly string[]): void {
    const lines = logLines.slice(mark);
    const written = lines.join('');
    for (const secret of secrets) {
      if (secret.length >= 16) assert.ok(!written.includes(secret), `a token reached stdout: ${written.slice(0, 300)}`);
    }
    for (const line of lines) {
      const entry = JSON.parse(line) as { message?: string; outcome?: string; reason?: string };
      if (entry.message !== 'decision') continue;
      const key = `${entry.outcome}/${entry.reason ?? '-'}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    logLines.length = 0;
  }

  /** Decisions seen, by outcome and reason: shows which paths the generators reach. */
  const outcomes = new Map<string, number>();
  const reportOutcomes = (t: { diagnostic: (message: string) => void }): void => {
    t.diagnostic(`decisions: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${key} ${count}`).join(', ')}`);
    outcomes.clear();
  };

  // --- Tokens ------------------------------------------------------------------------------------

  const OMIT = Symbol('omit');
  class Offset { constructor(readonly seconds: number) {} }
  class Raw { constructor(readonly value: unknown) {} }
  const SAME_AS_SUB = Symbol('same as sub');
  /** In a header spec: the signer's own alg or kid. */
  const OWN = Symbol('own');
  const json = (maxDepth = 1) => fc.jsonValue({ maxDepth });
  /** Mostly the valid value, sometimes one of the hostile ones: most tokens break one rule at a time. */
  const mostly = (valid: fc.Arbitrary<unknown>, ...hostile: fc.Arbitrary<unknown>[]): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 10, arbitrary: valid }, { weight: 1, arbitrary: fc.oneof(...hostile) });
  const offset = (min: number, max: number) => fc.integer({ min, max }).map((seconds) => new Offset(seconds));
  const junkTime = fc.oneof(json(), fc.double(), fc.constantFrom<unknown>(1e20, -1, 0, '9999999999', 2 ** 53, OMIT));
  const payloadSpecArb = fc.record({
    iss: mostly(
      fc.constant('trusted'),
      fc.constantFrom('trusted-x', 'trusted-noslash', 'trusted-upper', OMIT),
      json().map((value) => new Raw(value)),
    ),
    sub: mostly(fc.constantFrom<unknown>('usr_1', 'geocoding-backend', 'calendar-app'), fc.string({ maxLength: 12 }), json(), fc.constant(OMIT)),
    aud: mostly(
      fc.constantFrom<unknown>(CALENDAR_AUDIENCE, GEOCODING_AUDIENCE, [CALENDAR_AUDIENCE, GEOCODING_AUDIENCE], [GEOCODING_AUDIENCE, 'https://other.example/']),
      fc.uniqueArray(fc.oneof(fc.constantFrom(CALENDAR_AUDIENCE, GEOCODING_AUDIENCE), fc.string({ maxLength: 8 }), json(0)), { maxLength: 3 }),
      fc.constantFrom<unknown>(CALENDAR_AUDIENCE.slice(0, -1), CALENDAR_AUDIENCE.toUpperCase(), '', [], OMIT, [[CALENDAR_AUDIENCE]], { 0: CALENDAR_AUDIENCE }),
      json(),
    ),
    scope: mostly(
      fc.tuple(fc.subarray(['read', 'write', 'admin', 'profile']), fc.constantFrom(' ', '  ')).map(([words, separator]) => words.join(separator)),
      fc.tuple(fc.subarray(['read', 'write', 'READ', 'read:x', 'a"b', 'é', 'x\\y']), fc.constantFrom(' ', '\t', ',')).map(([words, separator]) => words.join(separator)),
      fc.constantFrom<unknown>(OMIT, ['read', 'write'], ' read ', 'read,write'),
      json(),
    ),
    // Not configured (AUTH_SCOPE_CLAIMS defaults to "scope"): must never grant anything.
    scp: fc.oneof({ weight: 3, arbitrary: fc.constant<unknown>(OMIT) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(['read', 'write', 'admin'], 'read write admin') }),
    permissions: fc.oneof({ weight: 3, arbitrary: fc.constant<unknown>(OMIT) }, { weight: 1, arbitrary: fc.constant<unknown>(['read', 'write', 'admin']) }),
    exp: mostly(offset(60, 7200), offset(-7200, -1), offset(-15, 15), junkTime),
    nbf: mostly(fc.oneof(fc.constant(OMIT), offset(-3600, -60)), offset(-15, 15), offset(60, 3600), junkTime),
    iat: mostly(fc.oneof(fc.constant(OMIT), offset(-3600, 0)), offset(-15, 15), offset(60, 3600), junkTime),
    client_id: mostly(fc.constantFrom<unknown>(OMIT, 'calendar-app'), fc.constant(SAME_AS_SUB), fc.string({ maxLength: 6 }), json(0)),
    azp: mostly(fc.constant<unknown>(OMIT), fc.constantFrom<unknown>('calendar-app', SAME_AS_SUB, ''), json(0)),
    gty: mostly(fc.constant<unknown>(OMIT), fc.constant('client-credentials'), fc.string({ maxLength: 6 })),
  });
  type PayloadSpec = typeof payloadSpecArb extends fc.Arbitrary<infer T> ? T : never;

  type Extra = 'jwk' | 'jku' | 'x5u' | 'x5c' | 'crit';
  const headerSpecArb = fc.record({
    alg: mostly(fc.constant<unknown>(OWN), fc.constantFrom<unknown>('none', 'HS256', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'es256', '', OMIT, null, ['ES256'])),
    kid: mostly(fc.constant<unknown>(OWN), fc.constantFrom<unknown>('es-1', 'ed-1', 'rs-1', 'evil', '', OMIT, 7, ['es-1']), fc.string({ maxLength: 8 })),
    typ: mostly(fc.constantFrom<unknown>('at+jwt', OMIT, 'JWT', 'application/at+jwt'), fc.constantFrom<unknown>('', 5, 'AT+JWT')),
    extras: mostly(fc.constant([]), fc.subarray<Extra>(['jwk', 'jku', 'x5u', 'x5c', 'crit'], { minLength: 1, maxLength: 2 })) as fc.Arbitrary<Extra[]>,
  });
  type HeaderSpec = typeof headerSpecArb extends fc.Arbitrary<infer T> ? T : never;

  const tokenSpecArb = fc.record({
    signer: fc.oneof(
      { weight: 10, arbitrary: fc.constant('es-1') },
      { weight: 2, arbitrary: fc.constant('ed-1') },
      { weight: 1, arbitrary: fc.constant('rs-1') },
      { weight: 2, arbitrary: fc.constantFrom('attacker es-1', 'attacker ed-1', 'attacker evil') },
    ),
    header: headerSpecArb,
    payload: payloadSpecArb,
    signature: mostly(fc.constant('real'), fc.uint8Array({ maxLength: 80 })) as fc.Arbitrary<'real' | Uint8Array>,
  });
  type TokenSpec = typeof tokenSpecArb extends fc.Arbitrary<infer T> ? T : never;

  interface BuiltToken { token: string; header: Record<string, unknown>; payload: Record<string, unknown>; signer: Signer; realSignature: boolean }

  function buildPayload(spec: PayloadSpec): Record<string, unknown> {
    const payload: Record<string, unknown> = {};
    const now = nowSeconds();
    const resolve = (value: unknown): unknown => {
      if (value instanceof Offset) return now + value.seconds;
      if (value === SAME_AS_SUB) return payload['sub'];
      return value;
    };
    const iss = spec.iss;
    if (iss !== OMIT) {
      payload['iss'] = iss instanceof Raw ? iss.value
        : iss === 'trusted' ? issuer : iss === 'trusted-x' ? `${issuer}x` : iss === 'trusted-noslash' ? issuer.slice(0, -1) : issuer.toUpperCase();
    }
    for (const [name, value] of Object.entries(spec)) {
      if (name === 'iss' || value === OMIT) continue;
      const resolved = resolve(value);
      if (resolved !== undefined) payload[name] = resolved;
    }
    return payload;
  }

  function buildHeader(spec: HeaderSpec, signer: Signer): Record<string, unknown> {
    const header: Record<string, unknown> = {};
    const pick = (value: unknown, own: string): unknown => (value === OWN ? own : value);
    for (const [name, value] of [['alg', pick(spec.alg, signer.key.alg)], ['typ', spec.typ], ['kid', pick(spec.kid, signer.key.kid)]] as const) {
      if (value !== OMIT) header[name] = value;
    }
    for (const extra of spec.extras) header[extra] = extra === 'crit' ? ['exp'] : extra === 'x5c' ? ['MIIB'] : extra === 'jwk' ? signer.key.jwk : 'https://attacker.example/keys';
    return header;
  }

  /** An attacker signs with whatever alg the header claims, when the key can produce it. */
  function signingAlg(signer: Signer, alg: unknown): string {
    const kty = signer.key.jwk['kty'];
    if (typeof alg === 'string' && ((kty === 'RSA' && /^(RS|PS)(256|384|512)$/.test(alg)) || (kty === 'EC' && /^ES(256|384|512)$/.test(alg)))) return alg;
    return signer.key.alg;
  }

  function signToken(signer: Signer, header: Record<string, unknown>, payload: Record<string, unknown>, signature: 'real' | Uint8Array): BuiltToken {
    const signingInput = `${b64url(header)}.${b64url(payload)}`;
    const bytes = signature === 'real' ? signWith(signingAlg(signer, header['alg']), signer.key.privateKey, signingInput) : Buffer.from(signature);
    return { token: `${signingInput}.${b64url(bytes)}`, header, payload, signer, realSignature: signature === 'real' };
  }

  const buildToken = (spec: TokenSpec): BuiltToken => {
    const signer = signerNamed(spec.signer);
    return signToken(signer, buildHeader(spec.header, signer), buildPayload(spec.payload), spec.signature);
  };

  /** `h.p.s` with the signature re-encoded canonically, so that tokens equal as bytes compare equal. */
  function canonical(token: string): string | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || !/^[A-Za-z0-9_-]*$/.test(parts[2]!) || parts[2]!.length % 4 === 1) return undefined;
    return `${parts[0]}.${parts[1]}.${Buffer.from(parts[2]!, 'base64url').toString('base64url')}`;
  }

  const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
  const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';

  /**
   * The independent oracle: the first rule `built` breaks for `route`, or undefined.
   * The clock moved during the call, so time rules are judged at either end of [startedMs, endedMs]:
   * 'may' (may it have been allowed at some instant?) for soundness, 'must' (was it valid
   * throughout?) for completeness.
   */
  function whyNot(built: BuiltToken, route: SpecRoute, startedMs: number, endedMs: number, mode: 'may' | 'must' = 'may'): string | undefined {
    const { header, payload, signer } = built;
    if (!signer.trusted || !built.realSignature) return 'not signed by a trusted key';
    if (header['alg'] !== signer.key.alg) return `alg ${String(header['alg'])} is not the signing key's`;
    if (header['kid'] !== signer.key.kid) return 'kid is not the signing key\'s';
    if (['jwk', 'jku', 'x5u', 'x5c', 'crit'].some((name) => name in header)) return 'key-bearing or crit header';
    if (payload['iss'] !== issuer) return 'iss';
    const forExp = Math.floor((mode === 'may' ? startedMs : endedMs) / 1000);
    const forNotBefore = Math.floor((mode === 'may' ? endedMs : startedMs) / 1000);
    if (!isNumericDate(payload['exp']) || payload['exp'] <= forExp - TOLERANCE) return 'exp';
    // The longest lifetime accepted (AUTH_MAX_TOKEN_LIFETIME_SECONDS, 30 days by default), from iat where there is one.
    const lifetimeFrom = isNumericDate(payload['iat']) ? Math.min(payload['iat'], forNotBefore) : forNotBefore;
    if (payload['exp'] - lifetimeFrom > 2_592_000 + TOLERANCE) return 'exp too far away';
    for (const claim of ['nbf', 'iat']) {
      const value = payload[claim];
      if (value !== undefined && (!isNumericDate(value) || value > forNotBefore + TOLERANCE)) return claim;
    }
    const aud = payload['aud'];
    const audiences = typeof aud === 'string' ? [aud] : aud;
    if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((item) => typeof item === 'string')) return 'aud shape';
    if (!audiences.includes(route.audience)) return 'aud';
    if (!nonEmptyString(payload['sub'])) return 'sub';
    const clientIdClaim = payload['client_id'];
    if (clientIdClaim !== undefined && !nonEmptyString(clientIdClaim)) return 'client_id';
    if (clientIdClaim === undefined && payload['azp'] !== undefined && !nonEmptyString(payload['azp'])) return 'azp';
    const clientId = clientIdClaim ?? payload['azp'];
    const scope = payload['scope'];
    if (scope !== undefined && typeof scope !== 'string') return 'scope type';
    const words = typeof scope === 'string' ? scope.split(' ').filter((word) => word !== '') : [];
    if (!words.every(isScopeToken)) return 'scope charset';
    if (!route.scopes.every((needed) => words.includes(needed))) return 'scopes';
    // RFC 9068 profile: a user only with positive evidence, a client id other than `sub`.
    const tokenUse = payload['gty'] === 'client-credentials' ? 'client' : clientId === undefined ? 'unknown' : clientId === payload['sub'] ? 'client' : 'user';
    if (route.requireUser && tokenUse !== 'user') return 'user token required';
    return undefined;
  }

  // --- Events ------------------------------------------------------------------------------------

  const arnSpecArb = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(fc.constantFrom(...SPEC_ROUTES), idArb).map(([route, id]) => `${STAGE}/${route.method}${concretePath(route.path, id)}`) },
    { weight: 2, arbitrary: fc.tuple(stageArb(), requestArb).map(([stage, { method, path }]) => `${stagePrefixOf(stage)}/${method}${path}`) },
    { weight: 1, arbitrary: fc.tuple(requestArb, editsArb(2)).map(([{ method, path }, edits]) => applyEdits(`${STAGE}/${method}${path}`, edits)) },
    { weight: 1, arbitrary: fc.oneof(anyString(40), fc.constantFrom(`${STAGE}/`, STAGE, `${STAGE}/*`, `${STAGE}/GET`, '*')) },
  );

  const authorizationSpecArb = fc.oneof(
    { weight: 12, arbitrary: fc.record({ kind: fc.constant('bearer' as const), header: bearerHeaderArb(1) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('mutated' as const), header: bearerHeaderArb(1), edits: editsArb(2) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), value: fc.oneof(anyString(60), fc.tuple(bearerHeaderArb(60), editsArb(3)).map(([header, edits]) => applyEdits(joinHeader(header), edits))) }) },
  );

  const FIELD = fc.constantFrom('type', 'version', 'methodArn', 'routeArn', 'headers', 'multiValueHeaders', 'authorizationToken');
  const eventSpecArb = fc.record({
    shape: fc.constantFrom('TOKEN' as const, 'REQUEST' as const, 'HTTP' as const),
    headerName: fc.mixedCase(fc.constant('authorization')),
    otherHeaders: fc.dictionary(fc.string({ maxLength: 8 }).filter((name) => name.toLowerCase() !== 'authorization'), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
    multiValue: mostly(fc.constantFrom('same', 'none'), fc.constantFrom('two', 'junk')) as fc.Arbitrary<'same' | 'none' | 'two' | 'junk'>,
    arn: arnSpecArb,
    fuzz: fc.oneof(
      { weight: 10, arbitrary: fc.constant([] as { field: string; value: unknown }[]) },
      { weight: 1, arbitrary: fc.array(fc.record({ field: FIELD, value: fc.oneof(fc.constant<unknown>(OMIT), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom<unknown>('TOKEN', 'REQUEST', '2.0', '1.0')) }), { minLength: 1, maxLength: 2 }) },
    ),
  });

  function buildEvent(spec: typeof eventSpecArb extends fc.Arbitrary<infer T> ? T : never, authorization: string | undefined): Record<string, unknown> {
    const headers: Record<string, unknown> = { ...spec.otherHeaders };
    if (authorization !== undefined) headers[spec.headerName] = authorization;
    const multiValueHeaders: Record<string, unknown> = Object.fromEntries(Object.entries(spec.otherHeaders).map(([name, value]) => [name, [value]]));
    if (authorization !== undefined && spec.multiValue !== 'none') {
      multiValueHeaders[spec.headerName] = spec.multiValue === 'same' ? [authorization] : spec.multiValue === 'two' ? [authorization, 'Bearer other'] : authorization;
    }
    let event: Record<string, unknown>;
    if (spec.shape === 'TOKEN') event = { type: 'TOKEN', authorizationToken: authorization, methodArn: spec.arn };
    else if (spec.shape === 'REQUEST') event = { type: 'REQUEST', methodArn: spec.arn, resource: '/', path: '/', httpMethod: 'GET', headers, multiValueHeaders };
    else event = { version: '2.0', type: 'REQUEST', routeArn: spec.arn, routeKey: '$default', rawPath: '/', identitySource: [authorization], headers };
    for (const { field, value } of spec.fuzz) {
      if (value === OMIT) delete event[field];
      else event[field] = value;
    }
    return event;
  }

  /** Every Authorization value the event carries, wherever it is. */
  function authorizationValues(event: unknown): string[] {
    if (typeof event !== 'object' || event === null) return [];
    const record = event as Record<string, unknown>;
    const values: unknown[] = [record['authorizationToken']];
    const headers = record['headers'];
    if (typeof headers === 'object' && headers !== null) {
      for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'authorization') values.push(value);
    }
    return values.filter((value): value is string => typeof value === 'string');
  }

  /** `arn:…:apiId/stage` of an ARN, by a deliberately loose reading. */
  const stagePrefixOfArn = (arn: string): string | undefined => /^(arn:[^:/]*:execute-api:[^:/]*:[^:/]*:[^:/]*\/[^/]+)\//.exec(arn)?.[1];

  /** REST REQUEST events with two Authorization values are ambiguous: the authorizer must refuse them. */
  function twoAuthorizationValues(event: unknown): boolean {
    if (typeof event !== 'object' || event === null) return false;
    const record = event as Record<string, unknown>;
    if (record['type'] !== 'REQUEST' || (record['version'] === '2.0' && typeof record['routeArn'] === 'string')) return false;
    const multi = record['multiValueHeaders'];
    if (typeof multi !== 'object' || multi === null) return false;
    return Object.entries(multi).some(([name, value]) => name.toLowerCase() === 'authorization' && Array.isArray(value) && value.length > 1);
  }

  /**
   * Soundness: whatever the result allows, among the requested ARN and every real route in the
   * request's stage and in the usual stage, is explained by the signed token the event carries,
   * which satisfies a route covering it. Completeness, for a clean request (well-formed event in
   * STAGE, one `Bearer <token>`): every route the token surely satisfies is allowed.
   * Returns how many probes were allowed.
   */
  function checkDecision(result: APIGatewayAuthorizerResult | undefined, event: unknown, requestedArn: unknown, built: BuiltToken | undefined, startedMs: number, endedMs: number, clean: boolean): number {
    const requestPrefix = typeof requestedArn === 'string' ? stagePrefixOfArn(requestedArn) : undefined;
    if (clean) {
      assert.equal(requestPrefix, STAGE);
      assert.ok(built !== undefined, 'a clean request carries a token');
      for (const route of SPEC_ROUTES) {
        if (whyNot(built, route, startedMs, endedMs, 'must') !== undefined) continue;
        const probe = `${STAGE}/${route.method}${concretePath(route.path, 'id-1')}`;
        assert.ok(result !== undefined && policyAllows(result, probe), `${probe} refused to a token that satisfies it: claims ${JSON.stringify(built.payload)}, header ${JSON.stringify(built.header)}`);
      }
    }
    if (result === undefined) return 0;
    const probes = new Set<string>();
    if (typeof requestedArn === 'string') probes.add(requestedArn);
    for (const prefix of new Set([requestPrefix, STAGE])) {
      if (prefix === undefined) continue;
      for (const route of SPEC_ROUTES) for (const method of HTTP_METHODS) probes.add(`${prefix}/${method}${concretePath(route.path, 'id-1')}`);
    }
    let allowed = 0;
    for (const probe of probes) {
      if (!policyAllows(result, probe)) continue;
      allowed += 1;
      assert.notEqual(requestPrefix, undefined, `allows ${probe} for a request without a usable ARN`);
      assert.ok(probe.startsWith(`${requestPrefix}/`), `allows ${probe}, outside the request's stage`);
      assert.ok(built !== undefined, `allows ${probe} without any token we signed`);
      assert.ok(!twoAuthorizationValues(event), `allows ${probe} for a request with two Authorization values`);
      const wanted = canonical(built.token);
      const carried = authorizationValues(event).some((value) => value.split(/[ \t]+/).some((word) => canonical(word) === wanted));
      assert.ok(carried, `allows ${probe}, but the event does not carry the signed token`);
      const rest = probe.slice(`${requestPrefix}/`.length);
      const reasons = SPEC_ROUTES.filter((route) => globMatch(resourcePattern(route), rest)).map((route) => whyNot(built, route, startedMs, endedMs));
      assert.ok(reasons.includes(undefined), `allows ${probe} although ${reasons.join(', ') || 'no route covers it'}; claims ${JSON.stringify(built.payload)}, header ${JSON.stringify(built.header)}`);
    }
    return allowed;
  }

  /** A REST or HTTP API call and what it returned, checked against the oracle. */
  async function decide(event: unknown, built: BuiltToken | undefined, secrets: readonly string[], clean: boolean): Promise<number> {
    const mark = logLines.length;
    const startedMs = Date.now();
    const { result, error } = await callHandler(event);
    const endedMs = Date.now();
    assertNotLogged(mark, secrets);
    const record = typeof event === 'object' && event !== null ? event as Record<string, unknown> : undefined;
    const isHttpApi = record?.['version'] === '2.0' && typeof record['routeArn'] === 'string';
    const requestedArn = isHttpApi ? record['routeArn'] : record?.['methodArn'];
    if (error !== undefined || result === undefined) {
      assertUnauthorized(error);
      assert.ok(!isHttpApi, 'an HTTP API (payload 2.0) event got a thrown error, which API Gateway turns into a 500');
      return checkDecision(undefined, event, requestedArn, built, startedMs, endedMs, clean);
    }
    assertPolicyShape(result);
    return checkDecision(result, event, requestedArn, built, startedMs, endedMs, clean);
  }

  /** Well-formed as API Gateway sends it: in STAGE, a method, a path without line terminators. */
  const wellFormedArn = (arn: string): boolean => arn.startsWith(`${STAGE}/`) && /^[A-Z]+(\/[^\n\r\u2028\u2029]*)?$/.test(arn.slice(STAGE.length + 1));

  it('arbitrary events: a policy or Error("Unauthorized"), allows exactly what the token earns, never a token in the logs', async (t) => {
    let allowsSeen = 0;
    const inputArb = fc.oneof(
      { weight: 20, arbitrary: fc.record({ random: fc.constant(undefined), token: tokenSpecArb, authorization: authorizationSpecArb, event: eventSpecArb }) },
      { weight: 1, arbitrary: fc.record({ random: fc.oneof(fc.anything(), fc.jsonValue()), token: fc.constant(undefined), authorization: fc.constant(undefined), event: fc.constant(undefined) }) },
    );
    await fc.assert(fc.asyncProperty(inputArb, async (input) => {
      if (input.event === undefined || input.token === undefined || input.authorization === undefined) {
        await decide(input.random, undefined, [], false);
        return;
      }
      const built = buildToken(input.token);
      const spec = input.authorization;
      const token = built.token;
      const authorization = spec.kind === 'bearer' ? joinHeader(spec.header, token)
        : spec.kind === 'raw' ? token
          : spec.kind === 'mutated' ? applyEdits(joinHeader(spec.header, token), spec.edits)
            : spec.value;
      const secrets = [token, token.split('.')[2] ?? ''];
      if (spec.kind !== 'random') secrets.push(authorization.trim());
      const clean = spec.kind === 'bearer' && input.event.fuzz.length === 0 && wellFormedArn(input.event.arn)
        && !(input.event.shape === 'REQUEST' && input.event.multiValue === 'two');
      if (await decide(buildEvent(input.event, authorization), built, secrets, clean) > 0) allowsSeen += 1;
    }), runs(3));
    reportOutcomes(t);
    // Not vacuous: valid tokens for real routes do come up and are allowed.
    if (RUNS >= 50) assert.ok(allowsSeen > 0, 'no run produced an allow; the generators no longer reach the interesting cases');
  });

  // A valid token, then exactly one rule broken (or one harmless change): every rule gets exercised
  // at a high rate, and completeness is checked for the changes that break nothing.
  const validPayloadArb = fc.record({
    sub: fc.constantFrom('usr_1', 'geocoding-backend'),
    aud: fc.constantFrom<unknown>(CALENDAR_AUDIENCE, GEOCODING_AUDIENCE, [CALENDAR_AUDIENCE, GEOCODING_AUDIENCE]),
    scope: fc.subarray(['read', 'write', 'admin']).map((words) => words.join(' ')),
    client_id: fc.constantFrom<unknown>(OMIT, 'calendar-app'),
    exp: offset(60, 7200),
    iat: fc.constantFrom<unknown>(OMIT, new Offset(0), new Offset(-60)),
  });
  const ISSUER_VARIANTS = ['x', 'noslash', 'upper', 'https'] as const;
  const oneRuleArb = fc.oneof(
    fc.record({ target: fc.constant('header' as const), name: fc.constantFrom('jwk', 'jku', 'x5u', 'x5c', 'crit'), value: fc.constant<unknown>(OWN) }),
    // The key signs with whatever alg the header names, when it can (RS*/PS* for RSA, ES* for EC).
    { weight: 2, arbitrary: fc.record({ target: fc.constant('header' as const), name: fc.constant('alg'), value: fc.constantFrom<unknown>('none', 'HS256', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'es256', '', OMIT, null, ['ES256']) }) },
    fc.record({ target: fc.constant('header' as const), name: fc.constant('kid'), value: fc.constantFrom<unknown>('es-1', 'ed-1', 'rs-1', 'evil', 'ES-1', '', OMIT, 7, ['es-1']) }),
    fc.record({ target: fc.constant('header' as const), name: fc.constant('typ'), value: fc.constantFrom<unknown>(OMIT, 'JWT', 'at+jwt', 5) }),
    fc.record({ target: fc.constant('payload' as const), name: fc.constant('iss'), value: fc.constantFrom<unknown>(...ISSUER_VARIANTS, OMIT, null, 5, '') }),
    { weight: 2, arbitrary: fc.record({ target: fc.constant('payload' as const), name: fc.constant('aud'), value: fc.constantFrom<unknown>(
      CALENDAR_AUDIENCE.slice(0, -1), CALENDAR_AUDIENCE.toUpperCase(), '', [], OMIT, [[CALENDAR_AUDIENCE]], { 0: CALENDAR_AUDIENCE }, ['https://other.example/'], 5, null,
      [CALENDAR_AUDIENCE, 5], [GEOCODING_AUDIENCE, null], [5, CALENDAR_AUDIENCE], [CALENDAR_AUDIENCE, GEOCODING_AUDIENCE, {}],
    ) }) },
    fc.record({ target: fc.constant('payload' as const), name: fc.constantFrom('exp', 'nbf', 'iat'), value: fc.oneof(offset(-7200, 7200), offset(-15, 15), fc.constantFrom<unknown>(OMIT, '9999999999', null, true, 1e300)) }),
    fc.record({ target: fc.constant('payload' as const), name: fc.constant('sub'), value: fc.constantFrom<unknown>('', OMIT, 5, null, ['usr_1'], 'calendar-app') }),
    fc.record({ target: fc.constant('payload' as const), name: fc.constantFrom('client_id', 'azp'), value: fc.constantFrom<unknown>('', 5, null, SAME_AS_SUB, 'other-app') }),
    fc.record({ target: fc.constant('payload' as const), name: fc.constant('gty'), value: fc.constantFrom<unknown>('client-credentials', 'password', 5) }),
    fc.record({ target: fc.constant('payload' as const), name: fc.constant('scope'), value: fc.constantFrom<unknown>('read\twrite', 'read,write', ['read', 'write'], 'read "write"', 'read write\\', ' read  write ', 'READ WRITE', 5, null, OMIT) }),
    fc.record({ target: fc.constantFrom('payload' as const), name: fc.constantFrom('scp', 'permissions'), value: fc.constantFrom<unknown>(['read', 'write', 'admin'], 'read write admin') }),
    fc.record({ target: fc.constant('signer' as const), name: fc.constantFrom('es-1', 'ed-1', 'evil'), value: fc.constant<unknown>(undefined) }),
    fc.record({ target: fc.constant('signature' as const), name: fc.constantFrom('random', 'empty', 'truncated', 'extended', 'flipped'), value: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ target: fc.constant('event' as const), name: fc.constantFrom('two values', 'no scheme', 'basic', 'lower-case name', 'upper-case name', 'blanks'), value: fc.constant<unknown>(undefined) }),
  );

  it('a trusted token with one rule broken opens no route that rule closes, and loses nothing else', async (t) => {
    await fc.assert(fc.asyncProperty(
      trustedSignerArb, validPayloadArb, oneRuleArb, fc.constantFrom(...SPEC_ROUTES), fc.constantFrom('TOKEN' as const, 'REQUEST' as const, 'HTTP' as const),
      async (signerName, validPayload, rule, route, shape) => {
        let signer = signerNamed(signerName);
        const header: Record<string, unknown> = { alg: signer.key.alg, typ: 'at+jwt', kid: signer.key.kid };
        const payload = buildPayload({ iss: 'trusted', scp: OMIT, permissions: OMIT, nbf: OMIT, azp: OMIT, gty: OMIT, ...validPayload });
        const resolve = (value: unknown): unknown => value instanceof Offset ? nowSeconds() + value.seconds : value === SAME_AS_SUB ? payload['sub'] : value;
        if (rule.target === 'header') {
          const value = rule.value === OWN ? ({ crit: ['exp'], x5c: ['MIIB'], jwk: signer.key.jwk } as Record<string, unknown>)[rule.name] ?? 'https://attacker.example/keys' : rule.value;
          if (value === OMIT) delete header[rule.name];
          else header[rule.name] = value;
        } else if (rule.target === 'payload') {
          const variant = ISSUER_VARIANTS.find((name) => name === rule.value);
          const value = rule.name !== 'iss' || variant === undefined ? resolve(rule.value)
            : variant === 'x' ? `${issuer}x` : variant === 'noslash' ? issuer.slice(0, -1) : variant === 'upper' ? issuer.toUpperCase() : issuer.replace('http:', 'https:');
          if (value === OMIT) delete payload[rule.name];
          else payload[rule.name] = value;
        } else if (rule.target === 'signer') {
          signer = signerNamed(`attacker ${rule.name}`);
        }
        let built = signToken(signer, header, payload, 'real');
        if (rule.target === 'signature') {
          const [h, p, sig] = built.token.split('.') as [string, string, string];
          const bytes = Buffer.from(sig, 'base64url');
          const noise = rule.value as Uint8Array;
          const changed = rule.name === 'random' ? b64url(Buffer.from(noise))
            : rule.name === 'empty' ? ''
              : rule.name === 'truncated' ? sig.slice(0, -noise.length)
                : rule.name === 'extended' ? sig + b64url(Buffer.from(noise))
                  : b64url(Buffer.from(bytes.map((byte, index) => (index === noise[0]! % bytes.length ? byte ^ (noise[noise.length - 1]! | 1) : byte))));
          built = { ...built, token: `${h}.${p}.${changed}`, realSignature: false };
        }
        const arn = `${STAGE}/${route.method}${concretePath(route.path, 'id-1')}`;
        const change = rule.target === 'event' ? rule.name : undefined;
        const event = buildEvent({
          shape: change === 'two values' ? 'REQUEST' : shape,
          headerName: change === 'lower-case name' ? 'authorization' : change === 'upper-case name' ? 'AUTHORIZATION' : 'Authorization',
          otherHeaders: {},
          multiValue: change === 'two values' ? 'two' : 'same',
          arn,
          fuzz: [],
        }, change === 'no scheme' ? built.token : change === 'basic' ? `Basic ${built.token}` : change === 'blanks' ? ` \tbearer   ${built.token}\t ` : `Bearer ${built.token}`);
        // Refusals the oracle cannot see in the token: the header's scheme, and two header values.
        const clean = change !== 'no scheme' && change !== 'basic' && change !== 'two values';
        await decide(event, built, [built.token, built.token.split('.')[2] ?? ''], clean);
      },
    ), runs(5));
    reportOutcomes(t);
  });

  it('single-character mutations of a valid token never yield an allow', async (t) => {
    const validArb = fc.record({
      signer: trustedSignerArb,
      sub: fc.stringMatching(/^[a-z0-9_|@.-]{1,24}$/),
      aud: fc.constantFrom<unknown>(CALENDAR_AUDIENCE, [CALENDAR_AUDIENCE, GEOCODING_AUDIENCE], [GEOCODING_AUDIENCE, CALENDAR_AUDIENCE]),
      scope: fc.subarray(['admin', 'profile', 'openid']).map((extra) => ['read', 'write', ...extra].join(' ')),
      typ: fc.constantFrom<unknown>('at+jwt', OMIT),
    });
    const MUTATION_CHARS = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...BASE64URL_CHARS) }, { weight: 1, arbitrary: hostileChar });
    const mutationArb = fc.record({ kind: fc.constantFrom<Edit['kind']>('replace', 'insert', 'delete'), at: fc.nat(), char: MUTATION_CHARS });
    await fc.assert(fc.asyncProperty(validArb, mutationArb, fc.constantFrom('TOKEN' as const, 'REQUEST' as const, 'HTTP' as const), async (valid, mutation, shape) => {
      const now = nowSeconds();
      const { key } = signerNamed(valid.signer);
      const header = { alg: key.alg, kid: key.kid, ...(valid.typ === OMIT ? {} : { typ: valid.typ }) };
      const payload = { iss: issuer, sub: valid.sub, aud: valid.aud, scope: valid.scope, iat: now, exp: now + 3600, client_id: 'calendar-app' };
      const signingInput = `${b64url(header)}.${b64url(payload)}`;
      const token = `${signingInput}.${b64url(signWith(key.alg, key.privateKey, signingInput))}`;
      const mutant = applyEdits(token, [mutation]);
      fc.pre(mutant !== token);
      const arn = `${STAGE}/GET/calendar/v1/events`;
      const eventFor = (value: string) => buildEvent({ shape, headerName: 'Authorization', otherHeaders: {}, multiValue: 'same', arn, fuzz: [] }, `Bearer ${value}`);

      // The original opens the route (otherwise this property would prove nothing).
      const mark = logLines.length;
      const original = await callHandler(eventFor(token));
      assert.ok(original.result !== undefined && policyAllows(original.result, arn), 'the unmutated token is not allowed');

      const outcome = await callHandler(eventFor(mutant));
      assertNotLogged(mark, [token, mutant, token.split('.')[2]!]);
      // Blanks the header grammar allows around the token, and a signature that decodes to the very
      // same bytes (base64url's unused low bits in the last character), leave the token unchanged.
      const effective = mutant.replace(/^ +/, '').replace(/[ \t]+$/, '');
      const sameBytes = effective.split('.').length === 3 && canonical(effective) === canonical(token) && effective.startsWith(`${signingInput}.`);
      if (sameBytes) return;
      if (outcome.error !== undefined || outcome.result === undefined) {
        assertUnauthorized(outcome.error);
        assert.notEqual(shape, 'HTTP', 'an HTTP API (payload 2.0) event got a thrown error');
        return;
      }
      assertPolicyShape(outcome.result);
      for (const route of SPEC_ROUTES) {
        for (const method of HTTP_METHODS) {
          const probe = `${STAGE}/${method}${concretePath(route.path, 'id-1')}`;
          assert.equal(policyAllows(outcome.result, probe), false, `mutant ${JSON.stringify(mutant)} opens ${probe}`);
        }
      }
    }), runs(3));
    reportOutcomes(t);
  });
});
