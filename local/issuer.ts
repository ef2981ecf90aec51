/**
 * The local OAuth 2.0 authorization server: a real oidc-provider issuing RFC 9068 JWT access
 * tokens for the two sample APIs, and opaque ones (checked by RFC 7662 introspection) for the
 * clients configured for them; either kind bound to the client's key (RFC 9449 DPoP) when the
 * token request carries a proof. For local development and tests only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { URLSearchParams } from 'node:url';
import { Readable } from 'node:stream';
import { exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
// Before oidc-provider, whose loading it quietens (see there why); import order is evaluation order.
import { restoreConsoleWarn } from './quiet-runtime-warning.js';
import Provider, { type ClientMetadata, errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { CALENDAR_API, CLIENTS, GEOCODING_API, LOCAL_PASSWORD, OPAQUE_CLIENT_IDS, TOKEN_LIFETIME_SECONDS } from './clients.js';
import { opaqueTokenId } from '../lib/introspection/opaque-token-id.js';

restoreConsoleWarn();

export { CALENDAR_API, CLIENTS, GEOCODING_API, LOCAL_PASSWORD, TOKEN_LIFETIME_SECONDS };

/** Which APIs each client may get tokens for, and with which scopes at most. */
const RESOURCE_GRANTS: Record<string, Record<string, string>> = {
  [CLIENTS.calendar.id]: { [CALENDAR_API]: 'read write' },
  [CLIENTS.geocoding.id]: { [GEOCODING_API]: '' },
  [CLIENTS.nogrant.id]: {},
  [CLIENTS.calendarOpaque.id]: { [CALENDAR_API]: 'read write' },
  [CLIENTS.geocodingOpaque.id]: { [GEOCODING_API]: '' },
  [CLIENTS.authorizer.id]: {},
};

/**
 * RFC 7662 §4: who may learn what about a token. The authorizer's client introspects every token
 * the issuer hands out; any other client only its own (a client may not probe another's tokens).
 */
function introspectionAllowed(caller: string, tokenClient: string | undefined): boolean {
  return caller === CLIENTS.authorizer.id || caller === tokenClient;
}

const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export interface IssuerOptions {
  port: number;
  host?: string;
  /** Public URL; defaults to http://localhost:<port>/. */
  issuer?: string;
  /** Where the signing key is kept between starts (git-ignored). */
  keyFile: string;
  /**
   * Told when an access token is revoked (RFC 7009, /token/revocation) and when a user signs out
   * (/session/end): the local stack writes the matching revocation entries from here.
   */
  onRevocation?: (event: { kind: 'token'; jti: string; expiresAt: number | undefined } | { kind: 'subject'; sub: string }) => void;
}

export interface RunningIssuer {
  issuer: string;
  url: string;
  stop(): Promise<void>;
}

async function signingKey(keyFile: string): Promise<Record<string, unknown>> {
  if (existsSync(keyFile)) return JSON.parse(readFileSync(keyFile, 'utf8')) as Record<string, unknown>;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: `local-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
  mkdirSync(dirname(keyFile), { recursive: true });
  writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label{display:block;margin:.75rem 0}input[type=text],input[type=password]{width:100%;padding:.4rem}button{padding:.5rem 1rem;margin-top:1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function readForm(request: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of request) {
    body += String(chunk);
    if (body.length > 8192) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

/**
 * Starts the issuer, and listens only once it can answer: the signing key is read (or, on a fresh
 * clone, generated) before the port is bound, and the request handler is in place before any
 * connection can be accepted. A request to the port is therefore answered from the first one on,
 * never accepted and left hanging.
 */
export async function startIssuer(options: IssuerOptions): Promise<RunningIssuer> {
  const host = options.host ?? '127.0.0.1';
  const jwk = await signingKey(options.keyFile);
  let handle: http.RequestListener | undefined;
  const server = http.createServer((request, response) => {
    if (handle !== undefined) {
      handle(request, response);
      return;
    }
    // Unreachable: `handle` is set in the listening callback, which runs before the event loop can
    // deliver a connection. Should that ever change, an answer beats a hang.
    response.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' });
    response.end('the issuer is starting\n');
  });
  const issuer = await new Promise<string>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      try {
        // The issuer URL holds the port, which port 0 only gives once bound: the provider is built
        // here, synchronously, so that no request is read before it exists.
        const url = options.issuer ?? `http://localhost:${(server.address() as AddressInfo).port}/`;
        handle = issuerHandler(url, jwk, options.onRevocation);
        resolve(url);
      } catch (error) {
        server.close();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    issuer,
    url: `http://${host}:${port}/`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * A public native app (RFC 8252 §7.3): authorization code with PKCE and refresh tokens; its loopback
 * redirect URI matches on any port, so that `npm run token -- --browser` can catch the browser's
 * redirect on a port of its own.
 */
const nativeApp = (client: { id: string; redirectUri: string }): ClientMetadata => ({
  client_id: client.id,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: [client.redirectUri],
});

/** A confidential backend: the client-credentials grant, with its secret. */
const backend = (client: { id: string; secret: string }): ClientMetadata => ({
  client_id: client.id,
  client_secret: client.secret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
});

/** The whole issuer (oidc-provider and the login and consent pages) as one request handler. Synchronous. */
function issuerHandler(issuer: string, jwk: Record<string, unknown>, onRevocation: IssuerOptions['onRevocation']): http.RequestListener {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  const configuration: Configuration = {
    clients: [
      nativeApp(CLIENTS.calendar),
      backend(CLIENTS.geocoding),
      backend(CLIENTS.nogrant),
      nativeApp(CLIENTS.calendarOpaque),
      backend(CLIENTS.geocodingOpaque),
      {
        // The authorizer: it only calls the introspection endpoint (HTTP Basic, the default of
        // AUTH_INTROSPECTION_AUTH_METHOD), and no grant gets it a token.
        client_id: CLIENTS.authorizer.id,
        client_secret: CLIENTS.authorizer.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    claims: { openid: ['sub'] },
    pkce: { required: () => true },
    ttl: {
      AccessToken: TOKEN_LIFETIME_SECONDS,
      ClientCredentials: TOKEN_LIFETIME_SECONDS,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 86400,
      IdToken: 3600,
      RefreshToken: 14 * 86400,
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 9449: a token request that carries a DPoP proof gets an access token bound to the
      // proof's key (cnf.jkt in the JWT, or in the introspection answer of an opaque token) and
      // token_type DPoP; one without a proof still gets a Bearer token. Proofs are single-use at
      // the token endpoint too (allowReplay false). No server nonces (§8): the authorizer does
      // not issue them either, and relies on iat and jti instead.
      dPoP: { enabled: true, allowReplay: false },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => introspectionAllowed(client.clientId, token.clientId),
      },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: only the client a token was issued to may revoke it (a public client
        // identified by its client_id alone; a confidential one authenticated).
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId === client.clientId) return true;
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      // Sign-out (/session/end) asks first, in the look of the other local pages; the form is
      // oidc-provider's, and "Yes" (logout=yes) ends every client's part of the session.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = page('Sign out?', `${form}<p>Sign out of the local issuer?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p>You are signed out of the local issuer.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: KoaContextWithOIDC, resource: string, client) => {
          const scope = RESOURCE_GRANTS[client.clientId]?.[resource];
          // A client only ever gets tokens for the APIs it was granted.
          if (scope === undefined) throw new errors.InvalidTarget(`client ${client.clientId} may not request tokens for ${resource}`);
          // The same audience and scopes either way: only how the API learns them differs (the
          // token's claims, or the introspection response).
          if (OPAQUE_CLIENT_IDS.has(client.clientId)) {
            return { scope, audience: resource, accessTokenTTL: TOKEN_LIFETIME_SECONDS, accessTokenFormat: 'opaque' };
          }
          return {
            scope,
            audience: resource,
            accessTokenTTL: TOKEN_LIFETIME_SECONDS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<p>${escapeHtml(String(out['error']))}: ${escapeHtml(String(out['error_description'] ?? ''))}</p>`);
    },
  };

  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  if (onRevocation !== undefined) {
    const report = onRevocation;
    // RFC 7009: oidc-provider's revocation endpoint destroys the token it was given. Only opaque
    // tokens are stored, so only they are ever destroyed; an opaque token's jti is the token itself,
    // which no revocation entry may hold: the entry is keyed on opaqueTokenId, as the authorizer
    // identifies an introspected token whose response names no jti (oidc-provider names none).
    const destroyed = (token: { jti: string; exp?: number; format?: string }): void => {
      report({ kind: 'token', jti: token.format === 'jwt' ? token.jti : opaqueTokenId(token.jti), expiresAt: token.exp });
    };
    provider.on('access_token.destroyed', destroyed);
    provider.on('client_credentials.destroyed', destroyed);
    // Sign-out ends the session: every token the user holds from before is revoked (sign-out everywhere).
    provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId ?? ctx.oidc.entities.Session?.accountId;
      if (accountId !== undefined) report({ kind: 'subject', sub: accountId });
    });
  }

  async function interaction(request: http.IncomingMessage, response: http.ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(request, response);
    if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
    const send = (html: string, status = 200): void => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(html);
    };
    if (request.method === 'GET') {
      if (details.prompt.name === 'login') {
        send(page('Sign in to the local issuer', `<form method="post" action="/interaction/${uid}/login">
<label>User name <input type="text" name="username" autofocus required pattern="[a-z][a-z0-9_-]{0,31}"></label>
<label>Password <input type="password" name="password" required></label>
<p>Local accounts: any lower-case name, password <code>${LOCAL_PASSWORD}</code>.</p>
<button type="submit">Sign in</button></form>`));
        return;
      }
      const missing = (details.prompt.details['missingResourceScopes'] ?? {}) as Record<string, string[]>;
      const rows = Object.entries(missing).flatMap(([resource, scopes]) => scopes.map((scope) =>
        `<label><input type="checkbox" name="scope" value="${escapeHtml(scope)}" checked> ${escapeHtml(scope)} on ${escapeHtml(resource)}</label>`));
      send(page('Allow access?', `<p><strong>${escapeHtml(String(details.params['client_id']))}</strong> asks to use your account:</p>
<form method="post" action="/interaction/${uid}/confirm">${rows.join('')}<button type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`));
      return;
    }
    const form = await readForm(request);
    if (action === 'login') {
      const username = form.get('username') ?? '';
      if (!USER_NAME.test(username) || form.get('password') !== LOCAL_PASSWORD) {
        send(page('Sign in failed', `<p>Unknown user or wrong password. <a href="/interaction/${uid}">Try again</a>.</p>`), 401);
        return;
      }
      await provider.interactionFinished(request, response, { login: { accountId: username } }, { mergeWithLastSubmission: false });
      return;
    }
    if (action === 'confirm') {
      const accountId = details.session?.accountId;
      const clientId = String(details.params['client_id']);
      if (accountId === undefined) throw new errors.SessionNotFound('no session');
      const grant = details.grantId ? (await provider.Grant.find(details.grantId))! : new provider.Grant({ accountId, clientId });
      const chosen = new Set(form.getAll('scope'));
      const missingOIDC = (details.prompt.details['missingOIDCScope'] ?? []) as string[];
      if (missingOIDC.length > 0) grant.addOIDCScope(missingOIDC.join(' '));
      const missing = (details.prompt.details['missingResourceScopes'] ?? {}) as Record<string, string[]>;
      for (const [resource, scopes] of Object.entries(missing)) {
        // The user may grant fewer scopes than asked for, never more.
        grant.addResourceScope(resource, scopes.filter((scope) => chosen.has(scope)).join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(request, response, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    await provider.interactionFinished(request, response, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
  }

  /**
   * RFC 7009 for this issuer's JWT access tokens, which oidc-provider refuses to revoke ("Structured
   * JWT Tokens cannot be revoked"): the client is authenticated, the token verified and checked to
   * be the client's, and its jti reported (the local stack writes a revocation entry). Any other
   * token (an opaque access token, a refresh token) goes on to oidc-provider with the body it was
   * sent, which destroys it (the destroyed events above report an opaque access token).
   */
  async function revocation(request: http.IncomingMessage, response: http.ServerResponse, report: NonNullable<IssuerOptions['onRevocation']>): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 8192) throw new Error('revocation request too large');
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const form = new URLSearchParams(body.toString('utf8'));
    const token = form.get('token') ?? '';
    if (token.split('.').length !== 3) {
      const replay = Object.assign(Readable.from([body]), {
        headers: request.headers, rawHeaders: request.rawHeaders, method: request.method, url: request.url,
        httpVersion: request.httpVersion, httpVersionMajor: request.httpVersionMajor, httpVersionMinor: request.httpVersionMinor,
        socket: request.socket, connection: request.socket, complete: true,
      });
      callback(replay as unknown as http.IncomingMessage, response);
      return;
    }
    const answer = (status: number, error?: string): void => {
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(status === 401 ? { 'www-authenticate': 'Basic realm="local issuer"' } : {}) });
      response.end(error === undefined ? '' : JSON.stringify({ error }));
    };
    // Client authentication as the token endpoint takes it: HTTP Basic or form credentials for the
    // confidential clients, client_id alone for the public one.
    const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? '');
    const [basicId, basicSecret] = basic === null ? [] : Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map(decodeURIComponent);
    const clientId = basicId ?? form.get('client_id') ?? '';
    const secret = basicSecret ?? form.get('client_secret') ?? undefined;
    const client = Object.values(CLIENTS).find((candidate) => candidate.id === clientId);
    if (client === undefined || ('secret' in client ? secret !== client.secret : secret !== undefined)) return answer(401, 'invalid_client');
    let claims: { jti?: string; client_id?: unknown; exp?: number };
    try {
      ({ payload: claims } = await jwtVerify(token, await importJWK({ ...publicJwk, alg: 'RS256' }, 'RS256'), { issuer }));
    } catch {
      // RFC 7009 §2.2: an invalid token is no error.
      return answer(200);
    }
    if (claims.client_id !== client.id) return answer(400, 'unauthorized_client');
    if (typeof claims.jti === 'string') report({ kind: 'token', jti: claims.jti, expiresAt: claims.exp });
    answer(200);
  }

  return (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (onRevocation !== undefined && request.method === 'POST' && request.url?.split('?')[0] === '/token/revocation') {
      revocation(request, response, onRevocation).catch(() => {
        if (response.headersSent) return response.destroy();
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end('{"error":"invalid_request"}');
      });
      return;
    }
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(request.url ?? '');
    if (match === null) {
      callback(request, response);
      return;
    }
    interaction(request, response, match[1]!, match[2]).catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      response.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      response.end(page('Error', `<p>${escapeHtml(error instanceof Error ? error.message : 'interaction failed')}</p>`));
    });
  };
}
