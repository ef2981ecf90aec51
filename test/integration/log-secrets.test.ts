import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { REASON_CODES, type ReasonCode } from '../../lib/errors.js';
import { JwksServer } from '../helpers/jwks-server.js';
import { b64url, clientClaims, GEOCODING_AUDIENCE, generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';
import { captureOutput, decisionLines } from '../helpers/output-capture.js';
import { arnFor } from '../helpers/policy.js';
import { dpopProof, thumbprintOf } from '../helpers/dpop.js';

// Every reason code the handler can give, each reached by a token or event built for it, and every
// success path; then all the process wrote (stdout and stderr) is searched for any piece of any
// token or Authorization value it was given. Nothing here is random: each path is taken for sure.

const server = await new JwksServer().start();
const key = generateTestKey('ES256', 'es-1');
const weakKey = generateTestKey('RSA1024', 'rsa-weak');
server.jwks = jwks(key, weakKey);
// A second trusted issuer whose keys cannot be had: nothing listens on its port.
const closed = createServer();
await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
const deadIssuer = `http://127.0.0.1:${(closed.address() as { port: number }).port}/`;
await new Promise<void>((resolve) => closed.close(() => resolve()));

Object.assign(process.env, {
  AUTH_ISSUER: `${server.issuer},${deadIssuer}`,
  AUTH_JWKS_URI: `${server.jwksUri},${deadIssuer}jwks.json`,
  AUTH_REQUIRE_AT_JWT: 'true',
  AUTH_JWKS_TIMEOUT_MS: '500',
  AUTH_LOG_LEVEL: 'debug',
  // routes.json's calendar does not set requireDpop: as a test of every route, as if none were cached.
  AUTH_DPOP_ON_ALL_ROUTES: 'true',
});

const captured = captureOutput();
const output = captured.chunks;
const { handler } = await import('../../handlers/authorizer.js');

const given: string[] = [];
const rest = (authorization: string | undefined, method = 'GET', path = '/calendar/v1/events') => {
  if (authorization !== undefined) given.push(authorization);
  return {
    type: 'REQUEST', methodArn: arnFor(method, path), resource: path, path, httpMethod: method,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  };
};
const bearer = (payload: Record<string, unknown>, header: Record<string, unknown> = {}, signer = key) => `Bearer ${signJwt(signer, payload, header)}`;
const user = (overrides: Record<string, unknown> = {}) => userClaims(server.issuer, overrides);
const now = () => Math.floor(Date.now() / 1000);

// DPoP: a client key, a token bound to it, and REST events that carry a proof and the request URL.
const clientKey = generateTestKey('ES256');
const boundToken = signJwt(key, user({ cnf: { jkt: thumbprintOf(clientKey) } }), {});
const DOMAIN = 'abc123.execute-api.eu-west-1.amazonaws.com';
const dpopRest = (token: string, proof: string | undefined) => {
  given.push(`DPoP ${token}`);
  if (proof !== undefined) given.push(proof);
  return {
    ...rest(undefined), headers: { Authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { DPoP: proof }) },
    requestContext: { domainName: DOMAIN, path: '/prod/calendar/v1/events' },
  };
};
const proofFor = (token: string) => dpopProof(clientKey, { htm: 'GET', htu: `https://${DOMAIN}/prod/calendar/v1/events`, token });
const replayedProof = proofFor(boundToken);

const hostile: [ReasonCode, unknown][] = [
  ['token_missing', rest(undefined)],
  ['scheme_invalid', rest('Basic dXNlcjpwYXNzd29yZA==')],
  ['token_too_large', rest(`Bearer ${'a'.repeat(9000)}.b.c`)],
  ['token_malformed', rest('Bearer not.a.jwt!')],
  ['token_not_jwt', rest('Bearer 2YotnFZFEjr1zCsicMWpAA')],
  ['alg_not_allowed', rest(`Bearer ${b64url({ alg: 'none', typ: 'at+jwt', kid: 'es-1' })}.${b64url(user())}.`)],
  ['header_key_rejected', rest(bearer(user(), { jwk: key.jwk }))],
  ['crit_unsupported', rest(bearer(user(), { crit: ['exp'] }))],
  ['typ_invalid', rest(bearer(user(), { typ: 'JWT' }))],
  ['kid_missing', rest(bearer(user(), { kid: undefined }))],
  ['kid_unknown', rest(bearer(user(), { kid: 'never-published' }))],
  ['key_unsuitable', rest(bearer(user(), {}, weakKey))],
  ['signature_invalid', rest(bearer(user()).slice(0, -6) + 'AAAAAA')],
  ['jwks_unavailable', rest(bearer(userClaims(deadIssuer)))],
  ['issuer_mismatch', rest(bearer(userClaims('https://evil.example/')))],
  ['audience_mismatch', rest(bearer(user({ aud: 'https://api.example.com/other/' })))],
  ['audience_missing', rest(bearer(user({ aud: undefined })))],
  ['id_token_presented', rest(bearer(user({ nonce: 'n-0S6_WzA2Mj' })))],
  ['token_expired', rest(bearer(user({ iat: now() - 7200, exp: now() - 3600 })))],
  ['token_not_yet_valid', rest(bearer(user({ nbf: now() + 3600 })))],
  ['iat_in_future', rest(bearer(user({ iat: now() + 3600 })))],
  ['claim_invalid', rest(bearer(user({ sub: 5 })))],
  // A DPoP-bound token (RFC 9449 §6.1: cnf.jkt) replayed as a bearer token, without its proof.
  ['dpop_proof_required', rest(bearer(user({ cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } })))],
  ['route_unknown', rest(bearer(user()), 'GET', '/calendar/v1/admin')],
  ['insufficient_scope', rest(bearer(user({ scope: 'read' })), 'POST')],
  ['token_use_unknown', rest(bearer(user({ client_id: undefined })))],
  ['user_token_required', rest(bearer(clientClaims(server.issuer, { aud: [GEOCODING_AUDIENCE, 'https://api.example.com/calendar/v1/'] })))],
  ['event_invalid', { type: 'REQUEST', headers: { Authorization: bearer(user()) } }],
  ['dpop_proof_invalid', dpopRest(boundToken, undefined)],
  ['dpop_binding_mismatch', dpopRest(signJwt(key, user()), proofFor(boundToken))],
  // Used once (allowed) just below, before the hostile requests run.
  ['dpop_proof_replayed', dpopRest(boundToken, replayedProof)],
];
// Only a bug gives internal_error; nothing a caller sends may reach it, so no token is built for it.
// issuer_not_allowed needs a route table whose APIs name their issuers, which routes.json (the
// table this handler bundles) does not: test/integration/provider-matrix.test.ts covers it. The
// revocation reasons need AUTH_REVOCATION_TABLE and a DynamoDB: test/integration/revocation.test.ts;
// the introspection reasons an introspection endpoint: test/integration/introspection.test.ts.
// The DPoP replay store's outage needs a store: test/integration/dpop.test.ts.
const UNREACHABLE: ReasonCode[] = ['internal_error', 'issuer_not_allowed', 'token_revoked', 'revocation_unavailable', 'token_inactive', 'introspection_unavailable', 'dpop_replay_unavailable'];

after(async () => {
  captured.restore();
  await server.stop();
});

describe('every rejection path and every success path, and never a token in the output', () => {
  it('each reason code is given for the hostile request built for it', async () => {
    // The proof the replay entry sends again, used once first: allowed.
    assert.equal((await handler(dpopRest(boundToken, replayedProof))).policyDocument.Statement[0]?.Effect, 'Allow');
    for (const [expected, event] of hostile) {
      const mark = output.length;
      await handler(event).catch(() => undefined);
      const decision = decisionLines(output, mark) as { reason?: string; outcome: string }[];
      assert.equal(decision.length, 1, `${expected}: one decision line`);
      assert.equal(decision[0]!.reason, expected, `${expected}: ${JSON.stringify(decision[0])}`);
      assert.notEqual(decision[0]!.outcome, 'allow');
    }
    assert.deepEqual(new Set([...hostile.map(([code]) => code), ...UNREACHABLE]), new Set(REASON_CODES), 'every reason code has its hostile request');
  });

  it('user and client tokens are allowed, fresh and from the decision cache', async () => {
    const allowed = [
      rest(bearer(user())),
      rest(bearer(user()), 'DELETE', '/calendar/v1/events/abc'),
      rest(bearer(clientClaims(server.issuer)), 'GET', '/geocoding/v1/reverse'),
    ];
    for (const event of [...allowed, ...allowed]) {
      const result = await handler(event);
      assert.equal(result.policyDocument.Statement[0]?.Effect, 'Allow');
    }
    assert.ok(output.join('').includes('"DecisionCacheHits":1'), 'the repeats came from the decision cache');
  });

  it('no output holds a token, a token part of 16 characters or more, or an Authorization value', () => {
    const all = output.join('');
    assert.ok(all.length > 0);
    for (const authorization of given) {
      assert.ok(!all.includes(authorization), 'an Authorization value reached the output');
      const token = authorization.replace(/^\S+\s+/, '');
      for (const part of token.split('.')) {
        if (part.length >= 16) assert.ok(!all.includes(part), `a token part reached the output: ${part.slice(0, 8)}…`);
      }
    }
  });
});
