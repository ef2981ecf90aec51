/** `npm start`: the whole stack on this machine until Ctrl-C. */
import { parseArgs } from 'node:util';
import type { RunningStack } from './stack.js';

const USAGE = `Usage: npm start

Runs on 127.0.0.1, until Ctrl-C (which stops everything it started): the issuer (oidc-provider),
DynamoDB (dynalite) and serverless offline with the authorizer and both sample APIs; then prints
commands to try them with.

Settings (environment variables, defaults in brackets):
  LOCAL_API_PORT       serverless offline, both APIs [3000]
  LOCAL_LAMBDA_PORT    serverless offline's Lambda invoke endpoint [3002]
  LOCAL_ISSUER_PORT    the issuer [4000]
  LOCAL_DYNAMODB_PORT  dynalite [8000]
  LOCAL_STAGE          the serverless stage, and the REST API's path prefix [dev];
                       dpop: the calendar requires DPoP-bound tokens (routes.dpop.json)
  LOCAL_DATA_DIR       where the issuer's signing key and the DPoP client key are kept [.local/]
  LOCAL_VERBOSE=1      all of serverless offline's output, not just one line per decision

Options:
  -h, --help           this text (and nothing is started)`;

// Before anything is loaded or started: --help (or a mistyped option) must not start the stack.
let help = false;
try {
  help = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values.help ?? false;
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
  process.exit(2);
}
if (help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const { CALENDAR_API, LOCAL_PASSWORD } = await import('./clients.js');
const { tryItCommands } = await import('./try-it.js');
const { offlineOutputFilter, stackOptionsFromEnv, startStack } = await import('./stack.js');

const options = stackOptionsFromEnv(process.env);
const verbose = process.env['LOCAL_VERBOSE'] === '1';
process.stdout.write('Starting the issuer, DynamoDB (dynalite) and serverless offline…\n');

let stack: RunningStack | undefined;
let stopping = false;
// Ctrl-C while starting: the start stops what it has started (serverless offline runs in a process
// group of its own, which would otherwise outlive this one) and rejects; see the catch below.
const starting = new AbortController();
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nStopping…\n');
  if (stack === undefined) {
    starting.abort();
    return;
  }
  await stack.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const quiet = offlineOutputFilter();
try {
  stack = await startStack({
    ...options,
    signal: starting.signal,
    // One line per decision (the authorizer's lines carry reason codes), warnings and errors; all of it with LOCAL_VERBOSE=1.
    onOutput: (line) => {
      for (const shown of verbose ? [line] : quiet(line)) process.stdout.write(`  offline | ${shown}\n`);
    },
  });
} catch (error) {
  // Everything it started is stopped already.
  if (starting.signal.aborted) process.exit(0);
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write('A port may be taken: set LOCAL_API_PORT, LOCAL_LAMBDA_PORT, LOCAL_ISSUER_PORT or LOCAL_DYNAMODB_PORT.\n');
  process.exit(1);
}
if (stopping) {
  // Ctrl-C came as the start finished.
  await stack.stop();
  process.exit(0);
}

const { issuer, issuerUrl, apiUrl, restBaseUrl, dynamodbEndpoint, tableName } = stack;
process.stdout.write(`
Ready.
  Issuer (oidc-provider)    ${issuer}  (listening on ${issuerUrl})
  DynamoDB (dynalite)       ${dynamodbEndpoint}  table ${tableName}
  REST API (stage ${options.stage})      ${restBaseUrl}
  HTTP API                  ${apiUrl}

Try it (in another terminal):

${tryItCommands({ issuerUrl, restBaseUrl, apiUrl, stage: options.stage })}

Calendar audience: ${CALENDAR_API}. Sign-in page accounts: any lower-case name, password ${LOCAL_PASSWORD}.
Ctrl-C stops everything.
`);
