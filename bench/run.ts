/**
 * `npm run bench`: per-request cost (interleaved rounds, RS256 and ES256), cold start, bundle
 * size, peak RSS and end-to-end throughput through serverless offline, for our authorizer and
 * its peers. Prints a table and target checks, writes bench/results/latest.json. Targets are
 * reported, never enforced; a stage that cannot run at all makes the exit code 1.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/authorizer/config.js';
import { JwksServer } from '../test/helpers/jwks-server.js';
import { jwks } from '../test/helpers/jwt.js';
import { buildBundles } from './bundles.js';
import { type ChildRow, measureColdStarts, measureMemory } from './cold-start.js';
import { createContenders } from './contenders.js';
import { measureEndToEnd } from './e2e.js';
import { ALGORITHMS, AUDIENCE, type BenchAlgorithm, makeKeys, METHOD_ARN, tokenPool } from './fixtures.js';
import type { ContenderResult } from './per-request.js';
import { measurePerRequest } from './per-request.js';
import { type BenchResults, evaluateTargets, formatReport } from './report.js';

const USAGE = `Usage: npm run bench

Measures, for our authorizer and its peers (aws-jwt-verify, jose, jsonwebtoken + jwks-rsa):
per-request cost (interleaved rounds, RS256 and ES256), cold start, bundle size, peak RSS, and
end-to-end throughput through serverless offline. Takes 1 to 2.5 minutes; prints the tables and
the target checks, and writes bench/results/latest.json. Targets are reported, not enforced; the
exit code is 1 only if a stage could not run. Nothing to configure: it starts its own servers
on 127.0.0.1 and free ports.

Options:
  -h, --help   this text (and nothing is run)`;

// Before any work: --help (or a mistyped option) must not start a two-minute run.
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

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const SETTINGS = {
  poolSize: 2000,
  rounds: 16,
  batch: 500,
  warmup: 200,
  coldStartRuns: 11,
  e2eConnections: 10,
  e2eSeconds: 10,
  e2eWarmupMinSeconds: 6,
  e2eWarmupMaxSeconds: 20,
};

const began = performance.now();
const log = (line: string): void => console.log(`» ${line}`);
const elapsed = (): string => `${((performance.now() - began) / 1000).toFixed(0)} s`;

/** Whether this checkout knows the two settings (they are ignored where it does not). */
function detectFeatures(): BenchResults['features'] {
  const config = loadConfig({ AUTH_ISSUER: 'https://issuer.example/' }) as unknown as Record<string, unknown>;
  return { decisionCacheSize: 'decisionCacheSize' in config, jwksSnapshot: 'jwksSnapshot' in config };
}

const machine = { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, node: process.version, platform: `${platform()} ${process.arch}`, date: new Date().toISOString() };
const features = detectFeatures();
log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; AUTH_DECISION_CACHE_SIZE ${features.decisionCacheSize ? 'supported' : 'NOT supported (ignored)'}, AUTH_JWKS_SNAPSHOT ${features.jwksSnapshot ? 'supported' : 'NOT supported (ignored)'}`);

const server = await new JwksServer().start();
const keys = makeKeys();
server.jwks = jwks(keys.RS256, keys.ES256);
const pools = {} as Record<BenchAlgorithm, string[]>;
const perRequest = {} as Record<BenchAlgorithm, ContenderResult[]>;
const scratch = mkdtempSync(join(tmpdir(), 'bearer-gate-bench-'));
let exitCode = 0;

try {
  for (const alg of ALGORITHMS) {
    log(`${alg}: signing ${SETTINGS.poolSize} distinct tokens (${elapsed()})`);
    pools[alg] = tokenPool(keys[alg], server.issuer, SETTINGS.poolSize);
    const contenders = await createContenders({ alg, key: keys[alg], tokens: pools[alg], issuer: server.issuer, jwksUri: server.jwksUri, jwks: server.jwks as { keys: Record<string, unknown>[] } });
    log(`${alg}: every contender accepts a valid token and refuses a tampered one; ${SETTINGS.rounds} interleaved rounds of ${SETTINGS.batch} calls each (${elapsed()})`);
    perRequest[alg] = await measurePerRequest(contenders, SETTINGS.poolSize, SETTINGS, () => server.jwksRequests);
  }

  log(`bundling with esbuild (${elapsed()})`);
  const bundleDir = join(RESULTS_DIR, 'bundles');
  mkdirSync(bundleDir, { recursive: true });
  const { bundles, driver } = await buildBundles(bundleDir);

  const snapshot = JSON.stringify(server.jwks);
  const base = { AUTH_ISSUER: server.issuer, AUTH_JWKS_URI: server.jwksUri, BENCH_AUDIENCE: AUDIENCE, AUTH_LOG_LEVEL: 'silent', AUTH_METRICS: 'false', BENCH_METHOD_ARN: METHOD_ARN, BENCH_TOKEN: pools.RS256[0]! };
  const NAMES = { oursCold: 'ours', awsCold: 'aws-jwt-verify (node:http fetcher)' };
  const coldRows: ChildRow[] = [
    { name: 'baseline (no verification)', bundle: 'baseline', env: base, expectFetches: 0 },
    { name: NAMES.oursCold, bundle: 'ours', env: base },
    { name: 'ours + AUTH_JWKS_SNAPSHOT (no fetch)', bundle: 'ours', env: { ...base, AUTH_JWKS_SNAPSHOT: snapshot }, ...(features.jwksSnapshot ? { expectFetches: 0 } : {}) },
    { name: 'jose', bundle: 'jose', env: base },
    { name: NAMES.awsCold, bundle: 'awsJwtVerify', env: base },
    { name: 'aws-jwt-verify (cacheJwks, no fetch)', bundle: 'awsJwtVerify', env: { ...base, AUTH_JWKS_SNAPSHOT: snapshot }, expectFetches: 0 },
    { name: 'jsonwebtoken + jwks-rsa', bundle: 'jsonwebtoken', env: base },
  ];
  log(`cold start: ${coldRows.length} rows × ${SETTINGS.coldStartRuns} fresh processes, RS256 (${elapsed()})`);
  const coldStart = await measureColdStarts(coldRows, SETTINGS.coldStartRuns, driver, bundles, server);

  const tokensFile = join(scratch, 'rs256-tokens.json');
  writeFileSync(tokensFile, JSON.stringify(pools.RS256));
  const memoryRows: ChildRow[] = [
    { name: 'baseline (no verification)', bundle: 'baseline', env: base },
    { name: 'ours (decision cache 1000, the default)', bundle: 'ours', env: base },
    { name: 'ours (decision cache off)', bundle: 'ours', env: { ...base, AUTH_DECISION_CACHE_SIZE: '0' } },
    { name: 'jose', bundle: 'jose', env: base },
    { name: 'aws-jwt-verify', bundle: 'awsJwtVerify', env: base },
    { name: 'jsonwebtoken + jwks-rsa', bundle: 'jsonwebtoken', env: base },
  ];
  log(`peak RSS: ${memoryRows.length} fresh processes × ${SETTINGS.poolSize} verifications (${elapsed()})`);
  const memory = await measureMemory(memoryRows, driver, bundles, tokensFile);
  await server.stop();

  log(`end to end through serverless offline (${elapsed()})`);
  let endToEnd: BenchResults['endToEnd'];
  try {
    endToEnd = await measureEndToEnd({
      connections: SETTINGS.e2eConnections, durationSeconds: SETTINGS.e2eSeconds, warmupMinSeconds: SETTINGS.e2eWarmupMinSeconds, warmupMaxSeconds: SETTINGS.e2eWarmupMaxSeconds, startTimeoutMs: 90_000,
    }, log);
  } catch (error) {
    exitCode = 1;
    endToEnd = { skipped: error instanceof Error ? error.message : String(error) };
  }

  const results: BenchResults = {
    machine, settings: SETTINGS, features, perRequest, coldStart, bundles, memory, endToEnd,
    targets: evaluateTargets({ perRequest, coldStart, bundles }, NAMES),
    notes: notes(features),
    totalWallSeconds: (performance.now() - began) / 1000,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${formatReport(results)}\nresults: bench/results/latest.json`);
} finally {
  await server.stop().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);

function notes({ decisionCacheSize, jwksSnapshot }: BenchResults['features']): string[] {
  return [
    'Logging is excluded from the rows of ours except the "decision line on" ones: the other in-process and child runs set AUTH_LOG_LEVEL=silent and AUTH_METRICS=false, so ours writes no line; the logging rows, and aws-jwt-verify + Powertools, write to a pipe another process drains (as Lambda reads stdout), and the log B/decision column says how much. The other peers log nothing. The end-to-end run keeps the defaults, so there each decision writes one line.',
    `"ours (handler, cache off)" runs with AUTH_DECISION_CACHE_SIZE=0, so every call verifies the signature; "ours, same token" runs with AUTH_DECISION_CACHE_SIZE=1000 and one token.${decisionCacheSize ? '' : ' This checkout does not know AUTH_DECISION_CACHE_SIZE: it was ignored.'}`,
    `"ours + AUTH_JWKS_SNAPSHOT" preloads the JWKS at cold start${jwksSnapshot ? ' and the JWKS server saw 0 requests in every run' : '; this checkout does not know AUTH_JWKS_SNAPSHOT, so it was ignored (and fetched)'}.`,
    'Per request, each handler-based contender is its own module instance configured from the environment at import (dynamic import with a query string, under tsx); ours runs from its TypeScript source, the same code the bundle holds. The floor is crypto.verify on pre-split input, pre-decoded signature and a pre-imported KeyObject.',
    'Peers are minimal authorizers (Bearer header → verify signature, iss, aud, exp, alg allow-list → one Allow statement); ours also checks routes and scopes from routes.json and builds a policy of the permitted routes.',
    'aws-jwt-verify refuses http JWKS URIs (its fetcher uses node:https and answers "Protocol http: not supported"), so per request it was hydrated with verifier.cacheJwks(jwks) (0 fetches); in the cold-start and RSS runs it fetched from the loopback server through a minimal node:http Fetcher given to its own SimpleJwksCache; its "cacheJwks, no fetch" cold-start row is the counterpart of ours + AUTH_JWKS_SNAPSHOT.',
    'jose v6 verifies with WebCrypto (crypto.subtle.verify, resolved from the libuv threadpool); jsonwebtoken + jwks-rsa gets a PEM from getPublicKey() and jwt.verify parses it into a key on every call.',
    'Cold start: "to first decision" is performance.now() in the child when the first handler call resolved (it counts from process start), "import" is the bundle import, "first call" includes the JWKS fetch, "node+driver" is process start to the first line of the driver. Ours runs with its default AUTH_JWKS_PREFETCH=true, so its import starts the fetch and its first call joins it; the target compares import + first call, which counts both. Per request, ours runs with AUTH_JWKS_PREFETCH=false, so its fetch is on its first call, as for the peers.',
    'End to end: one token, so after each authorizer instance\'s first request its decisions are decision-cache hits. Serverless offline does not cache authorizer results (resultTtlInSeconds has no effect there), so every request invokes the authorizer, in its own worker, and starts one instance per concurrent connection.',
  ];
}
