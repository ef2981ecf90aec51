/**
 * End to end through serverless offline: the same geocoding request driven by autocannon, once
 * with the authorizer in front (the local stack as `npm start` runs it, with a real token from
 * the local issuer) and once with serverless offline's `--noAuth`. Loopback only, bounded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, startOffline, startStack } from '../local/stack.js';
import { clientCredentialsToken } from '../local/token-client.js';
import { percentile } from './stats.js';

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  /** Warm-up runs at least this long, then until throughput is steady, at most warmupMaxSeconds. */
  warmupMinSeconds: number;
  warmupMaxSeconds: number;
  startTimeoutMs: number;
}

export interface LoadResult {
  name: string;
  url: string;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  /** Responses completed in each second of the measured run. */
  perSecond: number[];
  /** Seconds of the measured run in which no response completed (a stalled machine or server). */
  stalledSeconds: number;
  non2xx: number;
  errors: number;
  startupMs: number;
  /** How long the warm-up ran before throughput was steady (or its cap). */
  warmupSeconds: number;
}

/** What the authorizer's own decision logs (info level: serverless.yml sets no AUTH_LOG_LEVEL) said during the measured run. */
export interface AuthorizerSelfReport {
  decisions: number;
  p50Ms: number;
  p99Ms: number;
  /** `jwks_fetched` lines over the whole run: one per authorizer instance serverless offline started. */
  coldStarts: number;
}

export interface EndToEndResult {
  authorizerSelfReport: AuthorizerSelfReport;
  withAuth: LoadResult;
  noAuth: LoadResult;
  /** withAuth / noAuth requests per second. */
  throughputRatio: number;
  options: LoadOptions;
}

const STAGE = 'dev';
const PATH = '/geocoding/v1/reverse?lat=48.85&lng=2.35';

/** `localhost` may resolve to ::1 while serverless offline listens on 127.0.0.1 only. */
const loopback = (url: string): string => url.replace('//localhost:', '//127.0.0.1:');

async function status(url: string, token: string | undefined): Promise<number> {
  const response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  await response.arrayBuffer();
  return response.status;
}

interface Run {
  result: autocannon.Result;
  /** Responses completed in each whole second. */
  perSecond: number[];
}

/** One autocannon run; `onSecond` sees the counts so far and may stop the run early. */
function run(url: string, headers: Record<string, string>, connections: number, seconds: number, onSecond: (perSecond: number[], stop: () => void) => void = () => undefined): Promise<Run> {
  const perSecond: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: seconds, headers }, (error: unknown, result) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      // The last tick covers the fraction of a second after the deadline.
      else resolve({ result, perSecond: perSecond.slice(0, seconds) });
    });
    // autocannon passes the second's counters; its type definitions do not say so.
    instance.on('tick', (tick?: { counter: number }) => {
      perSecond.push(tick?.counter ?? 0);
      onSecond(perSecond, () => instance.stop());
    });
  });
}

/**
 * Serverless offline starts one instance per concurrent request and each warms its own JIT, so
 * throughput climbs for a while: warm up until four consecutive seconds agree within 20%.
 */
async function warmUp(url: string, headers: Record<string, string>, options: LoadOptions): Promise<number> {
  const { perSecond } = await run(url, headers, options.connections, options.warmupMaxSeconds, (counts, stop) => {
    const last = counts.slice(-4);
    if (counts.length >= options.warmupMinSeconds && last.length === 4 && Math.min(...last) > 0 && Math.max(...last) <= 1.2 * Math.min(...last)) stop();
  });
  return perSecond.length;
}

async function load(name: string, url: string, token: string, options: LoadOptions, startupMs: number, onMeasureStart: () => void = () => undefined): Promise<LoadResult> {
  const headers = { authorization: `Bearer ${token}` };
  const warmupSeconds = await warmUp(url, headers, options);
  onMeasureStart();
  const { result, perSecond } = await run(url, headers, options.connections, options.durationSeconds);
  return {
    name, url, startupMs, warmupSeconds, perSecond, stalledSeconds: perSecond.filter((count) => count === 0).length,
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

function selfReport(lines: string[], measuredFrom: number): AuthorizerSelfReport {
  const json = (line: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const latencies = lines.slice(measuredFrom).filter((line) => line.includes('"message":"decision"'))
    .map((line) => json(line)?.['latencyMs']).filter((value): value is number => typeof value === 'number');
  return {
    decisions: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    coldStarts: lines.filter((line) => line.includes('"message":"jwks_fetched"')).length,
  };
}

export async function measureEndToEnd(options: LoadOptions, log: (line: string) => void): Promise<EndToEndResult> {
  const output: string[] = [];
  let measuredFrom = 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'bearer-gate-bench-'));
  let withAuth: LoadResult;
  // Sent on the --noAuth run too, so both runs send the same bytes.
  let token: string;
  try {
    log('  starting the local stack (issuer, dynalite, serverless offline)…');
    const began = performance.now();
    const stack = await startStack({
      issuerPort: 0, dynamodbPort: 0, apiPort: await freePort(), lambdaPort: await freePort(),
      dataDir, stage: STAGE, startTimeoutMs: options.startTimeoutMs, onOutput: (line) => output.push(line),
    });
    try {
      const startupMs = performance.now() - began;
      token = (await clientCredentialsToken(stack.issuerUrl, 'geocoding')).access_token;
      const url = loopback(`${stack.restBaseUrl}${PATH}`);
      assert.equal(await status(url, undefined), 401, 'with authorizers on, a request without a token must be refused');
      assert.equal(await status(url, token), 200, 'the geocoding token must be accepted');
      log(`  authorizer on: autocannon ${options.connections} connections, warm-up (${options.warmupMinSeconds} to ${options.warmupMaxSeconds} s) + ${options.durationSeconds} s`);
      withAuth = await load('with authorizer', url, token, options, startupMs, () => (measuredFrom = output.length));
    } finally {
      await stack.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  log('  starting serverless offline --noAuth…');
  const began = performance.now();
  const offline = await startOffline({
    apiPort: await freePort(), lambdaPort: await freePort(), stage: STAGE, startTimeoutMs: options.startTimeoutMs,
    // The authorizer is never called with --noAuth; the other params keep serverless.yml's defaults.
    params: { authIssuer: 'http://127.0.0.1:9/' },
    extraArgs: ['--noAuth'],
  });
  let noAuth: LoadResult;
  try {
    const startupMs = performance.now() - began;
    const url = `${offline.restBaseUrl}${PATH}`;
    assert.equal(await status(url, undefined), 200, 'with --noAuth, a request without a token must go through');
    log(`  --noAuth: autocannon ${options.connections} connections, warm-up (${options.warmupMinSeconds} to ${options.warmupMaxSeconds} s) + ${options.durationSeconds} s`);
    noAuth = await load('--noAuth', url, token, options, startupMs);
  } finally {
    await offline.stop();
  }
  return { authorizerSelfReport: selfReport(output, measuredFrom), withAuth, noAuth, throughputRatio: withAuth.requestsPerSecond / noAuth.requestsPerSecond, options };
}
