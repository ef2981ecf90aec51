/** `npm run dpop-proof`: prints a fresh DPoP proof (RFC 9449) for one request, signed with the local DPoP key. */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dpopKeyFile, dpopProof, loadDpopKey, localDataDir } from './dpop-key.js';

const HELP = `Usage: npm run dpop-proof -- --url URL [--method METHOD] [--token TOKEN]

Prints a fresh DPoP proof (RFC 9449 §4) for one request: a JWT signed with the key that
npm run token -- --dpop bound the token to (in $LOCAL_DATA_DIR/dpop-client-key.json, default
.local/), with htm (the method), htu (the URL without its query), iat (now), a new jti, and ath
(the token's hash) when --token is given. A proof is good for one request only: make a new one
for each.

  TOKEN=$(npm run --silent token -- --user alice --scope "read write" --dpop)
  curl -H "Authorization: DPoP $TOKEN" \\
       -H "DPoP: $(npm run --silent dpop-proof -- --method GET --url http://localhost:3000/dev/calendar/v1/events --token "$TOKEN")" \\
       http://localhost:3000/dev/calendar/v1/events

Options:
  --url URL        the request's URL, exactly as the client sends it (scheme, host, port, path;
                   REST: with the stage, e.g. /dev/...)
  --method METHOD  the request's method [GET]
  --token TOKEN    the DPoP-bound access token the request carries (sets ath; resource requests
                   need it)
  -h, --help       this text`;

const OPTIONS = {
  url: { type: 'string' }, method: { type: 'string', default: 'GET' }, token: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
try {
  ({ values } = parseArgs({ options: OPTIONS, strict: true }));
} catch (error) {
  process.stderr.write(`dpop-proof: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
  process.exit(2);
}
if (values.help || values.url === undefined) {
  (values.help ? process.stdout : process.stderr).write(`${HELP}\n`);
  process.exit(values.help ? 0 : 2);
}

const fail = (message: string): never => {
  process.stderr.write(`dpop-proof: ${message}\n`);
  process.exit(1);
};

let url: URL | undefined;
try {
  url = new URL(values.url);
} catch {
  // Reported below.
}
if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`--url "${values.url}" is not an http(s) URL`);
if (!/^[A-Za-z]+$/.test(values.method)) fail(`--method "${values.method}" is not an HTTP method`);
if (values.token !== undefined && values.token.trim() === '') fail('--token is empty (did the token command fail? TOKEN=$(npm run --silent token -- ... --dpop))');

const file = dpopKeyFile(localDataDir());
// A new key here would sign proofs no token is bound to: the key comes from the token command.
if (!existsSync(file)) fail(`no DPoP key at ${file}: get a bound token first (npm run token -- --user alice --dpop), which makes the key`);
try {
  const key = await loadDpopKey(file);
  process.stdout.write(`${await dpopProof(key, values.method, url!.href, values.token?.trim())}\n`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
