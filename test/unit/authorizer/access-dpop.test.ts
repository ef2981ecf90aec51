import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accessTo, permissionsOf } from '../../../lib/authorizer/access.js';
import { findRoute, parseRouteTable } from '../../../lib/authorizer/route-table.js';
import type { TokenClaims } from '../../../lib/jwt/claims.js';

// An API that takes DPoP-bound tokens only, beside one that takes bearer tokens.
const table = parseRouteTable({ apis: [
  { name: 'payments', audience: 'aud-payments', requireDpop: true, routes: [{ method: 'POST', path: '/pay', scopes: ['pay'], requireUser: true }] },
  { name: 'public', audience: 'aud-public', routes: [{ method: 'GET', path: '/info', scopes: [], requireUser: false }] },
] });
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const claims = (overrides: Partial<TokenClaims> = {}): TokenClaims => ({
  issuer: 'https://issuer.example/', subject: 'usr_123', audiences: ['aud-payments', 'aud-public'], expiresAt: 2000000000,
  clientId: 'app', scopes: new Set(['pay']), tokenUse: 'user', ...overrides,
});
const decide = (token: TokenClaims, method: string, path: string) =>
  accessTo(findRoute(table, method, path), token, permissionsOf(table, token), method, path);

describe('an API that requires DPoP', () => {
  it('a stolen bearer token with every scope the route needs is refused as dpop_proof_required, and its policy leaves the route out', () => {
    const bearer = claims();
    assert.deepEqual(permissionsOf(table, bearer).permitted.map((route) => route.path), ['/info']);
    const decision = decide(bearer, 'POST', '/pay');
    assert.equal(decision.allowed, false);
    assert.equal(decision.reason, 'dpop_proof_required');
    // The bearer API next to it still serves the same token.
    assert.equal(decide(bearer, 'GET', '/info').allowed, true);
  });

  it('a bound token (its proof checked) is allowed, and refused for what it lacks like any other', () => {
    assert.equal(decide(claims({ boundKey: JKT }), 'POST', '/pay').allowed, true);
    assert.deepEqual(permissionsOf(table, claims({ boundKey: JKT })).permitted.map((route) => route.path), ['/pay', '/info']);
    assert.equal(decide(claims({ boundKey: JKT, scopes: new Set() }), 'POST', '/pay').reason, 'insufficient_scope');
    assert.equal(decide(claims({ boundKey: JKT, tokenUse: 'client' }), 'POST', '/pay').reason, 'user_token_required');
    // Without DPoP, the missing proof is the reason given first: what the client must fix.
    assert.equal(decide(claims({ scopes: new Set(), tokenUse: 'client' }), 'POST', '/pay').reason, 'dpop_proof_required');
  });
});
