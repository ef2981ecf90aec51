import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { clientClaims, generateTestKey, jwks, signJwt, userClaims } from './helpers/jwt.js';
import { JwksServer } from './helpers/jwks-server.js';
import { arnFor } from './helpers/policy.js';

// A full garbage collection on demand, so heap figures mean what is retained.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const server = await new JwksServer().start();
const key = generateTestKey('ES256');
server.jwks = jwks(key);
process.env['AUTH_ISSUER'] = server.issuer;
process.env['AUTH_JWKS_URI'] = server.jwksUri;
process.env['AUTH_LOG_LEVEL'] = 'silent';
process.env['AUTH_METRICS'] = 'false';
process.env['AUTH_DECISION_CACHE_SIZE'] = '500';
const { handler } = await import('../handlers/authorizer.js');

after(() => server.stop());

describe('memory', () => {
  it('stays flat over many distinct tokens, refusals and cache hits: every cache is bounded', async () => {
    const now = Math.floor(Date.now() / 1000);
    let serial = 0;
    const mixedRequest = (index: number) => {
      const kind = index % 5;
      const payload = kind === 0 ? clientClaims(server.issuer, { jti: String(serial++) })
        : kind === 1 ? userClaims(server.issuer, { sub: `u${serial++}`, scope: index % 2 ? 'read' : 'read write' })
          : kind === 2 ? userClaims(server.issuer, { exp: now - 60 })
            : undefined;
      const authorization = kind === 3 ? `Bearer garbage.${serial++}.x` : kind === 4 ? 'Bearer repeated.token.x' : `Bearer ${signJwt(key, payload!)}`;
      return { type: 'REQUEST', methodArn: arnFor('GET', `/calendar/v1/events/${serial}`), headers: { Authorization: authorization } };
    };
    const round = async (count: number): Promise<void> => {
      for (let index = 0; index < count; index += 1) await handler(mixedRequest(index)).catch(() => undefined);
    };
    await round(3000);
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    await round(6000);
    collectGarbage();
    const grown = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    console.log(`heap after 3000 warm-up decisions: ${(before / 1024 / 1024).toFixed(1)} MB; after 6000 more: ${grown >= 0 ? '+' : ''}${grown.toFixed(2)} MB`);
    assert.ok(grown < 2, `the heap grew by ${grown.toFixed(2)} MB`);
  });
});
