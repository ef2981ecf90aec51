/**
 * Gets access tokens from the local issuer the way real clients do: the client-credentials grant
 * for a backend, and the authorization-code grant with PKCE (through the login and consent
 * pages) for a user. Used by `npm run token` and by the end-to-end tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CALENDAR_API, CLIENTS, GEOCODING_API, LOCAL_PASSWORD } from './clients.js';
import { dpopProof, type KeyPair } from './dpop-key.js';

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

/**
 * A token request. With `dpop`, a DPoP proof for the token endpoint goes with it (RFC 9449 §5):
 * the issuer binds the access token to that key (cnf.jkt) and answers token_type DPoP.
 */
async function tokenRequest(issuerUrl: string, form: Record<string, string>, basicAuth?: [string, string], dpop?: KeyPair): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basicAuth) headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(basicAuth[0])}:${encodeURIComponent(basicAuth[1])}`).toString('base64')}`;
  const url = new URL('token', issuerUrl);
  if (dpop !== undefined) headers['dpop'] = await dpopProof(dpop, 'POST', url.href);
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form), signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await response.json() as Record<string, unknown>;
  if (!response.ok) throw new TokenRequestError(`the issuer refused: ${String(body['error'])}${body['error_description'] ? ` (${String(body['error_description'])})` : ''}`);
  const token = body as unknown as TokenResponse;
  // Asked for a bound token, a Bearer one would silently drop the binding: refused here.
  if (dpop !== undefined && token.token_type !== 'DPoP') throw new TokenRequestError(`asked for a DPoP-bound token, the issuer answered token_type ${token.token_type}`);
  return token;
}

export type ClientName = keyof typeof CLIENTS;
/** The backends that get tokens with the client-credentials grant. */
export type BackendClientName = 'geocoding' | 'geocodingOpaque' | 'nogrant';

/** A client-credentials token for a backend client, for `resource` (default: the geocoding API); bound to `dpop` when given. */
export async function clientCredentialsToken(issuerUrl: string, client: BackendClientName, resource: string = GEOCODING_API, dpop?: KeyPair): Promise<TokenResponse> {
  const { id, secret } = CLIENTS[client];
  return tokenRequest(issuerUrl, { grant_type: 'client_credentials', resource }, [id, secret], dpop);
}

/** How a client authenticates at the issuer's revocation endpoint: its secret, or (a public client) its id alone. */
function clientAuthentication(client: ClientName): { form: Record<string, string>; basicAuth?: [string, string] } {
  const entry: { id: string; secret?: string } = CLIENTS[client];
  return entry.secret === undefined ? { form: { client_id: entry.id } } : { form: {}, basicAuth: [entry.id, entry.secret] };
}

/**
 * RFC 7009: revokes `token` at the issuer as `client` (the client the token was issued to). The
 * issuer answers 200 for a token it does not know too (§2.2); any other answer is an error.
 */
export async function revokeToken(issuerUrl: string, client: ClientName, token: string, tokenTypeHint = 'access_token'): Promise<void> {
  const { form, basicAuth } = clientAuthentication(client);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basicAuth) headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(basicAuth[0])}:${encodeURIComponent(basicAuth[1])}`).toString('base64')}`;
  const response = await fetch(new URL('token/revocation', issuerUrl), {
    method: 'POST', headers, body: new URLSearchParams({ ...form, token, token_type_hint: tokenTypeHint }), signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 200) throw new TokenRequestError(`the issuer refused the revocation: ${response.status} ${text.slice(0, 200)}`);
}

/** A minimal cookie jar: the issuer keeps the interaction (and then the session) in cookies across redirects. */
export class CookieJar {
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

/** One authorization request (PKCE, state) of the calendar app, and what its answer is checked against. */
interface AuthorizationRequest {
  url: URL;
  clientId: string;
  redirectUri: string;
  verifier: string;
  state: string;
}

/** The user-facing app: calendar-app gets JWT access tokens, calendar-app-opaque opaque ones. */
export type UserClientName = 'calendar' | 'calendarOpaque';

function authorizationRequest(authorizationEndpoint: URL, scope: string, redirectUri: string, client: UserClientName): AuthorizationRequest {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(authorizationEndpoint);
  url.search = new URLSearchParams({
    client_id: CLIENTS[client].id, response_type: 'code', redirect_uri: redirectUri, scope: `openid offline_access ${scope}`.trim(),
    resource: CALENDAR_API, code_challenge: challenge, code_challenge_method: 'S256', state, prompt: 'consent',
  }).toString();
  return { url, clientId: CLIENTS[client].id, redirectUri, verifier, state };
}

/** The token for the code in the redirect that answered `request` (an error or another state is refused). */
async function exchangeCode(issuerUrl: string, request: AuthorizationRequest, redirect: URL, dpop?: KeyPair): Promise<TokenResponse> {
  const error = redirect.searchParams.get('error');
  if (error !== null) throw new TokenRequestError(`the issuer refused: ${error} (${redirect.searchParams.get('error_description') ?? ''})`);
  if (redirect.searchParams.get('state') !== request.state) throw new TokenRequestError('the issuer returned a different state');
  return tokenRequest(issuerUrl, {
    grant_type: 'authorization_code', code: redirect.searchParams.get('code') ?? '', code_verifier: request.verifier,
    redirect_uri: request.redirectUri, client_id: request.clientId, resource: CALENDAR_API,
  }, undefined, dpop);
}

/**
 * What a browser does from the authorization URL on: signs in as `user`, consents to `scope`, and
 * answers the redirect to `redirectUri` (with the code, or an error) without following it.
 */
export async function signInAsBrowser(authorizationUrl: URL, redirectUri: string, user: string, scope: string, password: string = LOCAL_PASSWORD, jar: CookieJar = new CookieJar()): Promise<URL> {
  let next: URL = authorizationUrl;
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
      if (target.href.startsWith(redirectUri)) return target;
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

/**
 * Runs the authorization-code flow with PKCE as a browser would: authorize, sign in as `user`,
 * consent to `scope`, then exchange the code. Returns the access token for the calendar API (a JWT
 * from calendar-app, the default; an opaque token from calendar-app-opaque), bound to `dpop` when
 * given (the code exchange carries a proof).
 */
export async function userToken(issuerUrl: string, user: string, scope: string, password: string = LOCAL_PASSWORD, client: UserClientName = 'calendar', dpop?: KeyPair): Promise<TokenResponse> {
  return (await userSession(issuerUrl, user, scope, password, client, dpop)).token;
}

/**
 * The same, keeping the browser's cookies (its session at the issuer), for what a signed-in user
 * does next: `signOut` ends that session at the issuer.
 */
export async function userSession(issuerUrl: string, user: string, scope: string, password: string = LOCAL_PASSWORD, client: UserClientName = 'calendar', dpop?: KeyPair): Promise<{ token: TokenResponse; browser: CookieJar }> {
  const request = authorizationRequest(new URL('auth', issuerUrl), scope, CLIENTS[client].redirectUri, client);
  const browser = new CookieJar();
  const token = await exchangeCode(issuerUrl, request, await signInAsBrowser(request.url, request.redirectUri, user, scope, password, browser), dpop);
  return { token, browser };
}

/**
 * Signs out at the issuer (OpenID RP-Initiated Logout, /session/end) with the browser's cookies,
 * confirming the issuer's "sign out?" page as a user would ("Yes, sign me out": every client of
 * the session). Resolves once the issuer has ended the session.
 */
export async function signOut(issuerUrl: string, browser: CookieJar): Promise<void> {
  const page = await fetch(new URL('session/end', issuerUrl), { headers: { cookie: browser.header() }, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  browser.store(page);
  const html = await page.text();
  if (page.status !== 200) throw new TokenRequestError(`the issuer answered ${page.status} at /session/end`);
  const action = /<form id="op\.logoutForm" method="post" action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /<input type="hidden" name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (action === undefined || xsrf === undefined) throw new TokenRequestError('no sign-out form at /session/end (is the browser signed in?)');
  const confirmed = await fetch(new URL(action, page.url), {
    method: 'POST', headers: { cookie: browser.header(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }), redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  browser.store(confirmed);
  await confirmed.arrayBuffer();
  const location = confirmed.headers.get('location') ?? '';
  if (confirmed.status !== 303 && confirmed.status !== 302) throw new TokenRequestError(`the issuer answered ${confirmed.status} to the sign-out`);
  if (!new URL(location, page.url).pathname.endsWith('/session/end/success')) throw new TokenRequestError(`the sign-out ended at ${location}`);
}

const CALLBACK_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed in</title></head>
<body style="font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto"><h1>Done</h1>
<p>npm run token has the code and prints the token in your terminal. You can close this tab.</p></body></html>`;

/**
 * The same flow through a real browser (RFC 8252, a native app): listens on a loopback port of its
 * own, calls `onUrl` with the authorization URL to open, catches the browser's redirect to
 * `http://127.0.0.1:<port>/callback` and exchanges the code. (oidc-provider builds the URLs of its
 * pages from the host a request came to, so the browser stays on the issuer URL's host, and its
 * cookies with it.) Fails after `timeoutMs` without a redirect.
 */
export async function browserUserToken(issuerUrl: string, scope: string, onUrl: (url: string) => void, timeoutMs = 5 * 60_000, client: UserClientName = 'calendar', dpop?: KeyPair): Promise<TokenResponse> {
  let answer: (redirect: URL) => void = () => {};
  const redirected = new Promise<URL>((resolve) => (answer = resolve));
  // The handler is in place before the port is bound: a redirect is never left unanswered.
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== '/callback') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(CALLBACK_PAGE);
    answer(url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const { port } = server.address() as AddressInfo;
    const request = authorizationRequest(new URL('auth', issuerUrl), scope, `http://127.0.0.1:${port}/callback`, client);
    onUrl(request.url.href);
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new TokenRequestError(`no sign-in came back within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    return await exchangeCode(issuerUrl, request, await Promise.race([redirected, timedOut]), dpop);
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
