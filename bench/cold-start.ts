/**
 * Fresh-process measurements of the bundled contenders: cold start (process start to first
 * decision, JWKS fetched from the loopback server unless a snapshot is given) and peak RSS after
 * verifying a pool of distinct tokens.
 */
import { spawn } from 'node:child_process';
import type { JwksServer } from '../test/helpers/jwks-server.js';
import type { Bundle, BundleName } from './bundles.js';
import { RESULT_PREFIX } from './child/driver-protocol.js';
import { median } from './stats.js';

export interface ChildRow {
  name: string;
  bundle: BundleName;
  env: Record<string, string>;
  /** How many JWKS requests one run must make (0 for snapshot rows); undefined: not checked. */
  expectFetches?: number;
}

export interface ColdStartResult {
  name: string;
  bundle: BundleName;
  runs: number;
  /** Medians, ms: process start to the driver's first line, the bundle import, the first call, process start to decision. */
  driverStartMs: number;
  importMs: number;
  firstCallMs: number;
  decisionAtMs: number;
  /**
   * Driver start to decision (import + first call) in each run, in run order (runs of different
   * rows pair up): the part that depends on the contender. Node's own boot before it is the same
   * code for every row, and only adds noise.
   */
  ownMsRuns: number[];
  jwksFetchesPerRun: number[];
}

export interface MemoryResult {
  name: string;
  bundle: BundleName;
  verifications: number;
  maxRssKb: number;
  heapUsedKb: number;
}

const CHILD_TIMEOUT_MS = 30_000;

/** Runs the driver on one bundle in a fresh node process and returns the numbers it printed. */
export function runChild(driver: string, bundle: Bundle, mode: 'cold' | 'rss', env: Record<string, string>): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, bundle.file, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Nothing of ours (tsx loader, NODE_OPTIONS) leaks into the measured process.
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((item) => item.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${bundle.entry} (${mode}) exited ${code ?? signal}: ${stderr.slice(-2000) || stdout.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as Record<string, number>);
    });
  });
}

/** `runs` rounds; in each, every row once, in an order rotated by the round. */
export async function measureColdStarts(rows: ChildRow[], runs: number, driver: string, bundles: Record<BundleName, Bundle>, server: JwksServer): Promise<ColdStartResult[]> {
  const samples = new Map(rows.map((row): [ChildRow, Record<string, number>[]] => [row, []]));
  const fetches = new Map(rows.map((row): [ChildRow, number[]] => [row, []]));
  for (let run = 0; run < runs; run += 1) {
    for (let index = 0; index < rows.length; index += 1) {
      const row = rows[(index + run) % rows.length]!;
      const before = server.jwksRequests;
      samples.get(row)!.push(await runChild(driver, bundles[row.bundle], 'cold', row.env));
      const fetched = server.jwksRequests - before;
      if (row.expectFetches !== undefined && fetched !== row.expectFetches) {
        throw new Error(`cold start "${row.name}": the JWKS server saw ${fetched} request(s), expected ${row.expectFetches}`);
      }
      fetches.get(row)!.push(fetched);
    }
  }
  return rows.map((row) => {
    const of = (field: string) => median(samples.get(row)!.map((sample) => sample[field]!));
    return {
      name: row.name, bundle: row.bundle, runs,
      driverStartMs: of('driverStartMs'), importMs: of('importMs'), firstCallMs: of('firstCallMs'), decisionAtMs: of('decisionAtMs'),
      ownMsRuns: samples.get(row)!.map((sample) => sample['decisionAtMs']! - sample['driverStartMs']!),
      jwksFetchesPerRun: fetches.get(row)!,
    };
  });
}

export async function measureMemory(rows: ChildRow[], driver: string, bundles: Record<BundleName, Bundle>, tokensFile: string): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const row of rows) {
    const sample = await runChild(driver, bundles[row.bundle], 'rss', { ...row.env, BENCH_TOKENS_FILE: tokensFile });
    results.push({ name: row.name, bundle: row.bundle, verifications: sample['verifications']!, maxRssKb: sample['maxRssKb']!, heapUsedKb: sample['heapUsedKb']! });
  }
  return results;
}
