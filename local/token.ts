/** `npm run token`: prints an access token from the local issuer. */
import { parseArgs } from 'node:util';
import { CALENDAR_API, GEOCODING_API } from './clients.js';
import { dpopKeyFile, loadDpopKey, localDataDir } from './dpop-key.js';
import { browserUserToken, clientCredentialsToken, type TokenResponse, userToken } from './token-client.js';

const HELP = `Usage: npm run token -- (--client NAME [--audience URL] | --user NAME | --browser) [--scope SCOPES] [--opaque] [--dpop] [options]

Prints an access token from the local issuer (npm start must be running).

  npm run token -- --client geocoding            client-credentials token for the geocoding API
  npm run token -- --client nogrant              a client granted no API: shows the refusal
  npm run token -- --client geocoding --audience ${CALENDAR_API}
                                                 asks for an API the client was not granted: refused
  npm run token -- --user alice --scope "read write"
                                                 user token for the calendar API, through the login
                                                 and consent pages (authorization code + PKCE)
  npm run token -- --browser --scope "read write"
                                                 the same, signing in yourself: prints the URL to
                                                 open (on stderr), catches the browser's redirect on
                                                 a loopback port of its own, exchanges the code
  npm run token -- --client geocoding --opaque   an opaque client-credentials token (the authorizer
                                                 checks it at the issuer: RFC 7662 introspection)
  npm run token -- --user alice --scope "read write" --opaque
                                                 an opaque user token for the calendar API
  npm run token -- --user alice --scope "read write" --dpop
                                                 a DPoP-bound user token (RFC 9449): send it as
                                                 "Authorization: DPoP <token>" with a fresh proof
                                                 from npm run dpop-proof (README, DPoP)
  npm run token -- --client geocoding --dpop     a DPoP-bound client-credentials token
Options:
  --scope SCOPES  the calendar scopes to ask for: "read" (the default) or "read write"
  --issuer URL    the local issuer (default http://127.0.0.1:$LOCAL_ISSUER_PORT/, port 4000;
                  npm start prints the export to use when it runs on another port)
  --opaque        an opaque access token instead of a JWT: the same APIs and scopes, through the
                  clients configured for opaque tokens (geocoding-backend-opaque, calendar-app-opaque)
  --dpop          bind the token to this machine's DPoP key (an EC P-256 key pair kept in
                  $LOCAL_DATA_DIR/dpop-client-key.json, default .local/, made on first use): the
                  token request carries a proof, the token gets cnf.jkt and token_type DPoP
  --json          print the whole token response, not just the access token
  -h, --help      this text

Add --silent after "npm run" to get only the token: TOKEN=$(npm run --silent token -- --client geocoding)`;

const OPTIONS = {
  client: { type: 'string' }, user: { type: 'string' }, scope: { type: 'string', default: 'read' },
  audience: { type: 'string' }, issuer: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
  browser: { type: 'boolean', default: false }, opaque: { type: 'boolean', default: false }, dpop: { type: 'boolean', default: false },
} as const;
let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
try {
  ({ values } = parseArgs({ options: OPTIONS, strict: true }));
} catch (error) {
  process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
  process.exit(2);
}

// Exactly one way to get the token.
if (values.help || [values.client !== undefined, values.user !== undefined, values.browser].filter(Boolean).length !== 1) {
  (values.help ? process.stdout : process.stderr).write(`${HELP}\n`);
  process.exit(values.help ? 0 : 2);
}

const issuerUrl = values.issuer ?? `http://127.0.0.1:${process.env['LOCAL_ISSUER_PORT'] || 4000}/`;
let response: TokenResponse;
try {
  const dpop = values.dpop ? await loadDpopKey(dpopKeyFile(localDataDir())) : undefined;
  if (values.client !== undefined) {
    if (values.client !== 'geocoding' && values.client !== 'nogrant') throw new Error(`unknown client "${values.client}": use geocoding or nogrant (see --help)`);
    if (values.client === 'nogrant' && values.opaque) throw new Error('--opaque: only the geocoding client has an opaque twin (see --help)');
    response = await clientCredentialsToken(issuerUrl, values.opaque ? 'geocodingOpaque' : values.client, values.audience ?? GEOCODING_API, dpop);
  } else if (values.user !== undefined) {
    response = await userToken(issuerUrl, values.user, values.scope, undefined, values.opaque ? 'calendarOpaque' : 'calendar', dpop);
  } else {
    response = await browserUserToken(issuerUrl, values.scope, (url) => {
      process.stderr.write(`Open this URL in a browser, sign in (any lower-case name, password local-password) and allow access:\n\n  ${url}\n\nWaiting for the browser's redirect (5 minutes at most)…\n`);
    }, undefined, values.opaque ? 'calendarOpaque' : 'calendar', dpop);
  }
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /fetch failed|ECONNREFUSED/.test(message) || (error instanceof Error && /fetch failed/.test(String(error.cause ?? '')))
    ? ` (nothing answers at ${issuerUrl}: is the local stack running? Start it with npm start; if it runs with another LOCAL_ISSUER_PORT, export that here too, as npm start prints)`
    : '';
  process.stderr.write(`token: ${message}${hint}\n`);
  process.exit(1);
}
process.stdout.write(values.json ? `${JSON.stringify(response, null, 2)}\n` : `${response.access_token}\n`);
