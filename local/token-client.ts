/**
 * Gets access tokens from the local issuer the way real clients do: the client-credentials grant
 * for a backend, and the authorization-code grant with PKCE (through the login and consent
 * pages) for a user. Used by `npm run token` and by the end-to-end tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CALENDAR_API, CLIENTS, GEOCODING_API, LOCAL_PASSWORD } from './clients.js';

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

export class TokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

const TIMEOUT_MS = 10_000;

async function tokenRequest(issuerUrl: string, form: Record<string, string>, basicAuth?: [string, string]): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basicAuth) headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(basicAuth[0])}:${encodeURIComponent(basicAuth[1])}`).toString('base64')}`;
  const response = await fetch(new URL('token', issuerUrl), { method: 'POST', headers, body: new URLSearchParams(form), signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await response.json() as Record<string, unknown>;
  if (!response.ok) throw new TokenRequestError(`the issuer refused: ${String(body['error'])}${body['error_description'] ? ` (${String(body['error_description'])})` : ''}`);
  return body as unknown as TokenResponse;
}

export type ClientName = keyof typeof CLIENTS;

/** A client-credentials token for a backend client, for `resource` (default: the geocoding API). */
export async function clientCredentialsToken(issuerUrl: string, client: Exclude<ClientName, 'calendar'>, resource: string = GEOCODING_API): Promise<TokenResponse> {
  const { id, secret } = CLIENTS[client];
  return tokenRequest(issuerUrl, { grant_type: 'client_credentials', resource }, [id, secret]);
}

/** A minimal cookie jar: the issuer keeps the interaction in cookies across redirects. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const index = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, index).trim(), pair!.slice(index + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Runs the authorization-code flow with PKCE as a browser would: authorize, sign in as `user`,
 * consent to `scope`, then exchange the code. Returns the access token for the calendar API.
 */
export async function userToken(issuerUrl: string, user: string, scope: string, password: string = LOCAL_PASSWORD): Promise<TokenResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const jar = new CookieJar();
  const { id: clientId, redirectUri } = CLIENTS.calendar;

  const authorize = new URL('auth', issuerUrl);
  authorize.search = new URLSearchParams({
    client_id: clientId, response_type: 'code', redirect_uri: redirectUri, scope: `openid offline_access ${scope}`.trim(),
    resource: CALENDAR_API, code_challenge: challenge, code_challenge_method: 'S256', state, prompt: 'consent',
  }).toString();

  let next: URL = authorize;
  let form: Record<string, string | string[]> | undefined;
  for (let step = 0; step < 12; step += 1) {
    const body = form === undefined ? undefined : new URLSearchParams(Object.entries(form).flatMap(([name, value]) => [value].flat().map((item): [string, string] => [name, item])));
    const response = await fetch(next, {
      method: form === undefined ? 'GET' : 'POST',
      headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    jar.store(response);
    form = undefined;
    const location = response.headers.get('location');
    if (location !== null) {
      await response.arrayBuffer();
      const target = new URL(location, next);
      if (target.href.startsWith(redirectUri)) {
        const error = target.searchParams.get('error');
        if (error !== null) throw new TokenRequestError(`the issuer refused: ${error} (${target.searchParams.get('error_description') ?? ''})`);
        if (target.searchParams.get('state') !== state) throw new TokenRequestError('the issuer returned a different state');
        return tokenRequest(issuerUrl, {
          grant_type: 'authorization_code', code: target.searchParams.get('code') ?? '', code_verifier: verifier,
          redirect_uri: redirectUri, client_id: clientId, resource: CALENDAR_API,
        });
      }
      next = target;
      continue;
    }
    const html = await response.text();
    if (!response.ok) throw new TokenRequestError(`the issuer answered ${response.status} at ${next.pathname}: ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}`);
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (action === undefined) throw new TokenRequestError(`unexpected page at ${next.pathname}`);
    next = new URL(action, next);
    form = action.endsWith('/login')
      ? { username: user, password }
      : { scope: scope.split(' ').filter((item) => item !== '') };
  }
  throw new TokenRequestError('the authorization flow did not finish within 12 steps');
}
