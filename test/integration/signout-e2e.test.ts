/**
 * Sign-out end to end, the way a user meets it: the local stack (issuer, dynalite, serverless
 * offline), a signed-in user whose token works on both APIs, then the user signs out at the issuer
 * (/session/end with the browser's cookies, confirming the issuer's "sign out?" page). The issuer's
 * hook writes a subject revocation (every token of that user issued before now), and within the
 * refresh interval the same token is refused (token_revoked): 401 on the REST API, 403 on the HTTP
 * API. A token of the same user issued after the sign-out is untouched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signOut, type UserClientName, userSession, userToken } from '../../local/token-client.js';
import { useLocalStack } from '../helpers/local-stack.js';

const local = useLocalStack('signout-e2e');
const { output } = local;

const status = async (url: string, token: string): Promise<number> =>
  (await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) })).status;

/**
 * A subject revocation refuses tokens issued (iat, whole seconds) before the second it is written
 * in; one issued in that same second still passes (lib/revocation/revocation-writer.ts). So the
 * sign-out must come in a later second than the token: a bounded wait on the clock (at most 1 s),
 * not on anything the stack does.
 */
async function nextSecond(): Promise<void> {
  const start = Math.floor(Date.now() / 1000);
  const deadline = performance.now() + 2_000;
  while (Math.floor(Date.now() / 1000) === start) {
    assert.ok(performance.now() < deadline, 'the clock did not move on');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function signedOutIsRefused(user: string, client: UserClientName, reasons: string[]): Promise<void> {
  const { token: { access_token: token }, browser } = await userSession(local.stack.issuerUrl, user, 'read', undefined, client);
  const refusal: Record<string, number> = { [`${local.stack.restBaseUrl}/calendar/v1/events`]: 401, [`${local.stack.apiUrl}/calendar/v1/events`]: 403 };
  const urls = Object.keys(refusal);
  for (const url of urls) assert.equal(await status(url, token), 200, url);

  await nextSecond();
  const from = output.length;
  await signOut(local.stack.issuerUrl, browser);
  const signedOutAt = performance.now();

  // Each instance refreshes its revocations within the interval (5 s): poll, bounded, until both refuse.
  const refusedAt: number[] = [];
  for (const url of urls) {
    for (;;) {
      const answer = await status(url, token);
      if (answer === refusal[url]) break;
      assert.equal(answer, 200, `${url} answered ${answer} before refusing`);
      assert.ok(performance.now() - signedOutAt < 15_000, `${url} still allows the token 15 s after the sign-out`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    refusedAt.push(performance.now() - signedOutAt);
  }
  console.log(`${client}: the signed-out user's token refused after ${refusedAt.map((ms) => `${Math.round(ms)} ms`).join(' (REST), ')} (HTTP API)`);
  // The decision line may trail the answer: wait for it, bounded.
  const deadline = performance.now() + 5_000;
  while (!output.slice(from).some((line) => reasons.some((reason) => line.includes(`"reason":"${reason}"`)))) {
    assert.ok(performance.now() < deadline, `no decision line with ${reasons.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(!output.some((line) => line.includes(token)), 'the token in the output');

  // Signing in again gets a token issued after the sign-out: it works.
  await nextSecond();
  const { access_token: fresh } = await userToken(local.stack.issuerUrl, user, 'read', undefined, client);
  for (const url of urls) assert.equal(await status(url, fresh), 200, url);
}

describe('sign-out end to end through serverless offline', () => {
  it('a signed-out user\'s JWT is refused (token_revoked) on both APIs within the refresh interval', { timeout: 120_000 }, async () => {
    await signedOutIsRefused('signed-out-user', 'calendar', ['token_revoked']);
  });

  it('so is an opaque token of a signed-out user (token_revoked; token_inactive where the issuer ended its grant)', { timeout: 120_000 }, async () => {
    await signedOutIsRefused('signed-out-opaque-user', 'calendarOpaque', ['token_revoked', 'token_inactive']);
  });
});
