/**
 * createAuthorizer with DPoP (RFC 9449): a real TokenVerifier (keys from a JWKS snapshot) and a
 * real DpopChecker, over a route table with one API that requires DPoP and one that does not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { createAuthorizer, type Decision, type DpopCheck } from '../../../lib/authorizer/authorizer.js';
import { loadConfig } from '../../../lib/authorizer/config.js';
import { parseRouteTable } from '../../../lib/authorizer/route-table.js';
import { DpopChecker } from '../../../lib/dpop/dpop-checker.js';
import type { ReplayStore } from '../../../lib/dpop/replay-guard.js';
import { TokenVerifier } from '../../../lib/jwt/token-verifier.js';
import { dpopProof, thumbprintOf } from '../../helpers/dpop.js';
import { CALENDAR_AUDIENCE, generateTestKey, jwks, signJwt, userClaims } from '../../helpers/jwt.js';
import { arnFor, policyAllows } from '../../helpers/policy.js';

const ISSUER = 'https://issuer.dpop.example/';
const NOTES_AUDIENCE = 'https://api.example.com/notes/v1/';
const DOMAIN = 'abc123.execute-api.eu-west-1.amazonaws.com';
const HTTP_STAGE = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/$default';
const issuerKey = generateTestKey('ES256', 'issuer-key');
const clientKey = generateTestKey('ES256');
const attackerKey = generateTestKey('ES256');

const routes = parseRouteTable({
  apis: [
    {
      name: 'calendar', audience: CALENDAR_AUDIENCE, requireDpop: true,
      routes: [
        { method: 'GET', path: '/calendar/v1/events', scopes: ['read'], requireUser: true },
        { method: 'POST', path: '/calendar/v1/events', scopes: ['write'], requireUser: true },
      ],
    },
    { name: 'notes', audience: NOTES_AUDIENCE, routes: [{ method: 'GET', path: '/notes/v1/notes', scopes: ['read'], requireUser: false }] },
  ],
});
const CALENDAR_ROUTES = [arnFor('GET', '/calendar/v1/events'), arnFor('POST', '/calendar/v1/events')];

const config = loadConfig({ AUTH_ISSUER: ISSUER, AUTH_JWKS_URI: 'http://127.0.0.1:9/jwks', AUTH_JWKS_SNAPSHOT: JSON.stringify(jwks(issuerKey)), AUTH_JWKS_PREFETCH: 'false' });
const checker = (store?: ReplayStore): DpopChecker => new DpopChecker({
  algorithms: config.dpop.algorithms, iatWindowSeconds: config.dpop.iatWindowSeconds, clockToleranceSeconds: config.clockToleranceSeconds,
  replay: { cacheSize: 1000, timeoutMs: 500, containerOnlyWhenStoreDown: false },
}, store);

function authorizer(dpop: () => DpopCheck | Promise<DpopCheck> = (() => {
  const one = checker();
  return () => one;
})()) {
  return createAuthorizer({ config, routes, verifier: new TokenVerifier(config), dpop });
}

const bound = (audience: string | string[] = CALENDAR_AUDIENCE, key = clientKey) => signJwt(issuerKey, userClaims(ISSUER, { aud: audience, cnf: { jkt: thumbprintOf(key) } }));
const bearer = (audience: string | string[] = CALENDAR_AUDIENCE) => signJwt(issuerKey, userClaims(ISSUER, { aud: audience }));
const urlOf = (path: string, stage = '/prod') => `https://${DOMAIN}${stage}${path}`;
const proofFor = (token: string, method = 'GET', path = '/calendar/v1/events', key = clientKey, stage = '/prod') => dpopProof(key, { htm: method, htu: urlOf(path, stage), token });

function restEvent(authorization: string, proof: string | undefined, method = 'GET', path = '/calendar/v1/events'): Record<string, unknown> {
  return {
    type: 'REQUEST', methodArn: arnFor(method, path), httpMethod: method,
    headers: { Authorization: authorization, ...(proof === undefined ? {} : { DPoP: proof }) },
    multiValueHeaders: { Authorization: [authorization], ...(proof === undefined ? {} : { DPoP: [proof] }) },
    requestContext: { domainName: DOMAIN, path: `/prod${path}` },
  };
}

function httpEvent(authorization: string, proof: string | undefined, method = 'GET', path = '/calendar/v1/events'): Record<string, unknown> {
  return {
    version: '2.0', type: 'REQUEST', routeArn: `${HTTP_STAGE}/${method}${path}`, rawPath: path, rawQueryString: '',
    headers: { authorization, ...(proof === undefined ? {} : { dpop: proof }) },
    requestContext: { domainName: DOMAIN, http: { method, path } },
  };
}

function expectRefusal(decision: Decision, reason: Decision['reason'], detail?: RegExp): void {
  assert.deepEqual([decision.outcome, decision.reason], ['unauthorized', reason], decision.detail);
  assert.equal(decision.retryable, false, 'a verdict on the request, not a transient failure');
  assert.equal(decision.result, undefined, 'REST: thrown as Unauthorized (401), no policy');
  if (detail !== undefined) assert.match(decision.detail ?? '', detail);
}

const allowsAny = (result: APIGatewayAuthorizerResult | undefined, arns: string[]): boolean => result !== undefined && arns.some((arn) => policyAllows(result, arn));

describe('authorizer with DPoP: binding rules', () => {
  it('a bound token (cnf.jkt) presented as Bearer is dpop_proof_required, even with a proof alongside', async () => {
    const authorize = authorizer();
    const token = bound();
    expectRefusal(await authorize(restEvent(`Bearer ${token}`, undefined)), 'dpop_proof_required', /bound to a DPoP key/);
    expectRefusal(await authorize(restEvent(`Bearer ${token}`, proofFor(token))), 'dpop_proof_required');
    // On the API without requireDpop too: the binding is the token's, not the route's.
    const notes = bound([NOTES_AUDIENCE]);
    expectRefusal(await authorize(restEvent(`Bearer ${notes}`, undefined, 'GET', '/notes/v1/notes')), 'dpop_proof_required');
  });

  it('the DPoP scheme with an unbound token is dpop_binding_mismatch, whatever proof comes with it', async () => {
    const authorize = authorizer();
    const token = bearer([NOTES_AUDIENCE]);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'GET', '/notes/v1/notes'), 'GET', '/notes/v1/notes')), 'dpop_binding_mismatch', /no "cnf\.jkt"/);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, undefined, 'GET', '/notes/v1/notes')), 'dpop_binding_mismatch');
  });

  it('a valid proof is allowed; the same proof again is dpop_proof_replayed', async () => {
    const authorize = authorizer();
    const token = bound();
    const proof = proofFor(token);
    const allowed = await authorize(restEvent(`DPoP ${token}`, proof));
    assert.equal(allowed.outcome, 'allow', allowed.detail);
    assert.ok(policyAllows(allowed.result!, arnFor('GET', '/calendar/v1/events')));
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proof)), 'dpop_proof_replayed');
    // A fresh proof for the same token is fine (the token's verification is remembered; the proof is not).
    assert.equal((await authorize(restEvent(`DPoP ${token}`, proofFor(token)))).outcome, 'allow');
  });

  it('a remembered token does not skip the binding: allowed with its proof, then refused as Bearer', async () => {
    const authorize = authorizer();
    const token = bound();
    assert.equal((await authorize(restEvent(`DPoP ${token}`, proofFor(token)))).outcome, 'allow');
    const asBearer = await authorize(restEvent(`Bearer ${token}`, undefined));
    expectRefusal(asBearer, 'dpop_proof_required');
    const noProof = await authorize(restEvent(`DPoP ${token}`, undefined));
    expectRefusal(noProof, 'dpop_proof_invalid', /no DPoP header/);
  });

  it('proofs that fail a check are refused as dpop_proof_invalid naming it, or dpop_binding_mismatch for another key', async () => {
    const authorize = authorizer();
    const token = bound();
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'POST'))), 'dpop_proof_invalid', /"htm"/);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'GET', '/calendar/v1/other'))), 'dpop_proof_invalid', /"htu"/);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'GET', '/calendar/v1/events', clientKey, '/dev'))), 'dpop_proof_invalid', /"htu"/);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(bound()))), 'dpop_proof_invalid', /"ath"/);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'GET', '/calendar/v1/events', attackerKey))), 'dpop_binding_mismatch', /cnf\.jkt/);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, 'not.a.proof')), 'dpop_proof_invalid', /not a compact JWS/);
    const stale = dpopProof(clientKey, { htm: 'GET', htu: urlOf('/calendar/v1/events'), token, payload: { iat: Math.floor(Date.now() / 1000) - 3600 } });
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, stale)), 'dpop_proof_invalid', /"iat" is more than/);
  });

  it('a proof whose jwk has kty "toString" is a definitive dpop_proof_invalid (401), not a retryable internal_error', async () => {
    const authorize = authorizer();
    const token = bound();
    const proof = dpopProof(clientKey, { htm: 'GET', htu: urlOf('/calendar/v1/events'), token, header: { jwk: { kty: 'toString', crv: 'P-256', x: 'a', y: 'b' } } });
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proof)), 'dpop_proof_invalid');
  });

  it('a TOKEN event with the DPoP scheme is refused: it cannot carry the proof', async () => {
    const authorize = authorizer();
    const token = bound();
    expectRefusal(await authorize({ type: 'TOKEN', methodArn: arnFor('GET', '/calendar/v1/events'), authorizationToken: `DPoP ${token}` }), 'dpop_proof_invalid', /TOKEN authorizer/);
  });
});

describe('authorizer with DPoP: requireDpop APIs', () => {
  it('a bearer token on the requireDpop API is dpop_proof_required: a deny whose policy lists none of that API\'s routes', async () => {
    const authorize = authorizer();
    const token = bearer([CALENDAR_AUDIENCE, NOTES_AUDIENCE]);
    const decision = await authorize(restEvent(`Bearer ${token}`, undefined));
    assert.deepEqual([decision.outcome, decision.reason], ['deny', 'dpop_proof_required']);
    assert.ok(decision.result !== undefined, 'a policy (the token is good, the route is not its)');
    assert.equal(allowsAny(decision.result, CALENDAR_ROUTES), false);
    assert.ok(policyAllows(decision.result, arnFor('GET', '/notes/v1/notes')), 'the plain API\'s route is still listed');
  });

  it('the policy for a bearer token never lists requireDpop routes, whichever route was asked', async () => {
    const authorize = authorizer();
    const token = bearer([CALENDAR_AUDIENCE, NOTES_AUDIENCE]);
    const decision = await authorize(restEvent(`Bearer ${token}`, undefined, 'GET', '/notes/v1/notes'));
    assert.equal(decision.outcome, 'allow');
    assert.equal(allowsAny(decision.result, CALENDAR_ROUTES), false);
    const only = await authorize(restEvent(`Bearer ${bearer()}`, undefined, 'POST', '/calendar/v1/events'));
    assert.deepEqual([only.outcome, only.reason], ['deny', 'dpop_proof_required']);
    assert.equal(allowsAny(only.result, CALENDAR_ROUTES), false);
  });

  it('a bound token with a valid proof on the plain API is refused (scheme_invalid): its routes sit behind a caching authorizer, whose cached allow would stand in for the next proof', async () => {
    const authorize = authorizer();
    const token = bound([NOTES_AUDIENCE]);
    const decision = await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'GET', '/notes/v1/notes'), 'GET', '/notes/v1/notes'));
    assert.equal(decision.reason, 'scheme_invalid', decision.detail);
    assert.match(decision.detail ?? '', /requireDpop/);
    assert.equal(decision.result, undefined);
  });

  it('with AUTH_DPOP_ON_ALL_ROUTES (no route cached), the same request is allowed', async () => {
    const uncached = { ...config, dpop: { ...config.dpop, onAllRoutes: true } };
    const one = checker();
    const authorize = createAuthorizer({ config: uncached, routes, verifier: new TokenVerifier(uncached), dpop: () => one });
    const token = bound([NOTES_AUDIENCE]);
    const decision = await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'GET', '/notes/v1/notes'), 'GET', '/notes/v1/notes'));
    assert.equal(decision.outcome, 'allow', decision.detail);
    assert.ok(policyAllows(decision.result!, arnFor('GET', '/notes/v1/notes')));
  });

  it('a bound token with a valid proof for both APIs gets the requireDpop routes too', async () => {
    const authorize = authorizer();
    const token = bound([CALENDAR_AUDIENCE, NOTES_AUDIENCE]);
    const decision = await authorize(restEvent(`DPoP ${token}`, proofFor(token, 'POST'), 'POST'));
    assert.equal(decision.outcome, 'allow', decision.detail);
    assert.ok(policyAllows(decision.result!, arnFor('POST', '/calendar/v1/events')));
  });
});

describe('authorizer with DPoP: loading the check', () => {
  it('the check is not loaded for bearer requests', async () => {
    let loads = 0;
    const authorize = authorizer(() => {
      loads += 1;
      return checker();
    });
    await authorize(restEvent(`Bearer ${bearer([NOTES_AUDIENCE])}`, undefined, 'GET', '/notes/v1/notes'));
    await authorize(restEvent(`Bearer ${bound()}`, undefined));
    assert.equal(loads, 0);
  });

  it('a loader that rejects is internal_error, retryable, with no policy; a later request loads again', async () => {
    let loads = 0;
    const authorize = authorizer(() => {
      loads += 1;
      return loads === 1 ? Promise.reject(new Error('chunk failed to load')) : Promise.resolve(checker());
    });
    const token = bound();
    const failed = await authorize(restEvent(`DPoP ${token}`, proofFor(token)));
    assert.deepEqual([failed.outcome, failed.reason, failed.retryable], ['unauthorized', 'internal_error', true]);
    assert.equal(failed.result, undefined);
    assert.match(failed.detail ?? '', /could not be loaded: chunk failed to load/);
    const retried = await authorize(restEvent(`DPoP ${token}`, proofFor(token)));
    assert.equal(retried.outcome, 'allow', retried.detail);
    assert.equal(loads, 2);
    // Loaded once and kept.
    assert.equal((await authorize(restEvent(`DPoP ${token}`, proofFor(token)))).outcome, 'allow');
    assert.equal(loads, 2);
  });

  it('a loader that throws synchronously is a refusal, never an allow', async () => {
    const authorize = authorizer(() => {
      throw new Error('boom');
    });
    const token = bound();
    const decision = await authorize(restEvent(`DPoP ${token}`, proofFor(token)));
    assert.equal(decision.outcome, 'unauthorized');
    assert.equal(decision.reason, 'internal_error');
  });

  it('no dpop dependency: the DPoP scheme is internal_error, not an allow', async () => {
    const authorize = createAuthorizer({ config, routes, verifier: new TokenVerifier(config) });
    const token = bound();
    const decision = await authorize(restEvent(`DPoP ${token}`, proofFor(token)));
    assert.deepEqual([decision.outcome, decision.reason], ['unauthorized', 'internal_error']);
  });

  it('the replay store down refuses as dpop_replay_unavailable, retryable, no policy; seen elsewhere is replayed', async () => {
    let answer: () => Promise<boolean> = () => Promise.reject(new Error('store down'));
    const one = checker({ claim: () => answer() });
    const authorize = authorizer(() => one);
    const token = bound();
    const proof = proofFor(token);
    const down = await authorize(restEvent(`DPoP ${token}`, proof));
    assert.deepEqual([down.outcome, down.reason, down.retryable, down.result], ['unauthorized', 'dpop_replay_unavailable', true, undefined]);
    answer = () => Promise.resolve(true);
    assert.equal((await authorize(restEvent(`DPoP ${token}`, proof))).outcome, 'allow', 'the same proof once the store is back');
    answer = () => Promise.resolve(false);
    expectRefusal(await authorize(restEvent(`DPoP ${token}`, proofFor(token))), 'dpop_proof_replayed');
  });
});

describe('authorizer with DPoP: HTTP API events', () => {
  const httpProof = (token: string, method = 'GET', path = '/calendar/v1/events', key = clientKey) => dpopProof(key, { htm: method, htu: `https://${DOMAIN}${path}`, token });

  it('a valid proof (URL from rawPath) is allowed; its replay gets a Deny policy, not a thrown error', async () => {
    const authorize = authorizer();
    const token = bound();
    const proof = httpProof(token);
    const allowed = await authorize(httpEvent(`DPoP ${token}`, proof));
    assert.equal(allowed.outcome, 'allow', allowed.detail);
    assert.ok(policyAllows(allowed.result!, `${HTTP_STAGE}/GET/calendar/v1/events`));
    const replayed = await authorize(httpEvent(`DPoP ${token}`, proof));
    assert.deepEqual([replayed.outcome, replayed.reason, replayed.retryable], ['unauthorized', 'dpop_proof_replayed', false]);
    assert.ok(replayed.result !== undefined, 'HTTP APIs get an explicit deny');
    assert.equal(policyAllows(replayed.result, `${HTTP_STAGE}/GET/calendar/v1/events`), false);
  });

  it('definitive refusals (bearer-bound, wrong htu, mismatch, duplicates) are Deny policies', async () => {
    const authorize = authorizer();
    const token = bound();
    const denied = [
      await authorize(httpEvent(`Bearer ${token}`, undefined)),
      await authorize(httpEvent(`DPoP ${token}`, dpopProof(clientKey, { htm: 'GET', htu: urlOf('/calendar/v1/events'), token }))),
      await authorize(httpEvent(`DPoP ${token}`, httpProof(token, 'GET', '/calendar/v1/events', attackerKey))),
      await authorize(httpEvent(`DPoP ${token}`, `${httpProof(token)},${httpProof(token)}`)),
      await authorize(httpEvent(`DPoP ${bearer()}`, httpProof(bearer()))),
    ];
    assert.deepEqual(denied.map(({ reason }) => reason), ['dpop_proof_required', 'dpop_proof_invalid', 'dpop_binding_mismatch', 'dpop_proof_invalid', 'dpop_binding_mismatch']);
    for (const decision of denied) {
      assert.equal(decision.retryable, false);
      assert.ok(decision.result !== undefined, `${decision.reason}: a Deny policy`);
      assert.equal(policyAllows(decision.result, `${HTTP_STAGE}/GET/calendar/v1/events`), false);
    }
  });

  it('transient failures (loader rejects, store down) return no policy', async () => {
    const failing = authorizer(() => Promise.reject(new Error('no chunk')));
    const token = bound();
    const failed = await failing(httpEvent(`DPoP ${token}`, httpProof(token)));
    assert.deepEqual([failed.reason, failed.retryable, failed.result], ['internal_error', true, undefined]);
    const down = checker({ claim: () => Promise.reject(new Error('store down')) });
    const storeDown = await authorizer(() => down)(httpEvent(`DPoP ${token}`, httpProof(token)));
    assert.deepEqual([storeDown.reason, storeDown.retryable, storeDown.result], ['dpop_replay_unavailable', true, undefined]);
  });
});
