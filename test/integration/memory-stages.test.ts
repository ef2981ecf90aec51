/**
 * The review's case: one remembered token sent to 50,000 distinct apiId/stage ARNs took the
 * retained heap from 6 to 76 MB (~1.4 KB per stage), and every cached token could do it. Nothing is
 * kept per token per stage now, and the per-stage documents are bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { heapGrowthMb } from '../helpers/heap.js';
import { JwksServer } from '../helpers/jwks-server.js';
import { generateTestKey, jwks, signJwt, userClaims } from '../helpers/jwt.js';

const key = generateTestKey('ES256', 'stages-key');
const server = await new JwksServer().start();
server.jwks = jwks(key);
let handler: (event: unknown) => Promise<unknown>;

before(async () => {
  Object.assign(process.env, { AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, AUTH_LOG_LEVEL: 'silent', AUTH_METRICS: 'false' });
  ({ handler } = await import('../../handlers/authorizer.js') as { handler: typeof handler });
});
after(() => server.stop());

describe('memory: one token across many stages', () => {
  it('50,000 distinct apiId/stage ARNs with one remembered token keep the heap flat', async () => {
    const authorization = `Bearer ${signJwt(key, userClaims(server.issuer, { scope: 'read write' }))}`;
    // A distinct API id and stage every call, as a token replayed against every API of an account would.
    const event = (index: number) => ({
      type: 'REQUEST', headers: { Authorization: authorization },
      methodArn: `arn:aws:execute-api:eu-west-1:123456789012:api${index.toString(36)}/s${index}/GET/calendar/v1/events`,
    });
    const { baseMb, grownMb } = await heapGrowthMb((index) => handler(event(index)), 5000, 50_000);
    console.log(`heap after 5000 warm-up stages: ${baseMb.toFixed(1)} MB; after 50,000 more: ${grownMb >= 0 ? '+' : ''}${grownMb.toFixed(2)} MB`);
    assert.ok(grownMb < 2, `the heap grew by ${grownMb.toFixed(2)} MB over 50,000 stages`);
  });
});
