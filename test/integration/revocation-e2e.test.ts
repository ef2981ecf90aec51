/**
 * Revocation end to end, the way a user meets it: the local stack (issuer, dynalite, serverless
 * offline), a user's token that works on both APIs, its revocation at the issuer (RFC 7009), and
 * the same token refused (token_revoked) on both within the refresh interval: 401 on the REST API,
 * 403 on the HTTP API, where every definitive refusal is a Deny policy (a throw would be a 500).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENTS } from '../../local/clients.js';
import { userToken } from '../../local/token-client.js';
import { useLocalStack } from '../helpers/local-stack.js';

const local = useLocalStack('revocation-e2e');
const { output } = local;

const status = async (url: string, token: string): Promise<number> =>
  (await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) })).status;

describe('revocation end to end through serverless offline', () => {
  it('a revoked token is refused (token_revoked) on both APIs within the refresh interval', { timeout: 120_000 }, async () => {
    const { access_token: token } = await userToken(local.stack.issuerUrl, 'revoked-user', 'read');
    const refusal: Record<string, number> = { [`${local.stack.restBaseUrl}/calendar/v1/events`]: 401, [`${local.stack.apiUrl}/calendar/v1/events`]: 403 };
    const urls = Object.keys(refusal);
    for (const url of urls) assert.equal(await status(url, token), 200, url);

    const revoked = await fetch(new URL('token/revocation', local.stack.issuerUrl), {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: CLIENTS.calendar.id, token_type_hint: 'access_token' }), signal: AbortSignal.timeout(10_000),
    });
    assert.equal(revoked.status, 200);
    const revokedAt = performance.now();

    // Each API's authorizer instances refresh within the interval (5 s): poll, bounded, until both refuse.
    const refusedAt: number[] = [];
    for (const url of urls) {
      for (;;) {
        const answer = await status(url, token);
        if (answer === refusal[url]) break;
        assert.equal(answer, 200, `${url} answered ${answer} before refusing`);
        assert.ok(performance.now() - revokedAt < 15_000, `${url} still allows the token 15 s after its revocation`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      refusedAt.push(performance.now() - revokedAt);
    }
    console.log(`revoked token refused after ${refusedAt.map((ms) => `${Math.round(ms)} ms`).join(' (REST), ')} (HTTP API)`);
    assert.ok(output.some((line) => line.includes('"reason":"token_revoked"')), 'the decision line says token_revoked');
    // Another token of the same user, issued after, is untouched.
    const { access_token: fresh } = await userToken(local.stack.issuerUrl, 'revoked-user', 'read');
    for (const url of urls) assert.equal(await status(url, fresh), 200, url);
  });
});
