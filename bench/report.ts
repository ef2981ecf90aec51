/** Turns the results into the printed tables and target lines; no measuring here. */
import type { Bundle, BundleName } from './bundles.js';
import type { ColdStartResult, MemoryResult } from './cold-start.js';
import { CONTENDER_NAMES } from './contenders.js';
import type { EndToEndResult } from './e2e.js';
import type { BenchAlgorithm } from './fixtures.js';
import type { ContenderResult } from './per-request.js';
import { median } from './stats.js';

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  date: string;
}

export interface BenchResults {
  machine: Machine;
  settings: Record<string, unknown>;
  features: { decisionCacheSize: boolean; jwksSnapshot: boolean };
  perRequest: Record<BenchAlgorithm, ContenderResult[]>;
  coldStart: ColdStartResult[];
  bundles: Record<BundleName, Bundle>;
  memory: MemoryResult[];
  endToEnd: EndToEndResult | { skipped: string };
  targets: Target[];
  notes: string[];
  totalWallSeconds: number;
}

export interface Target {
  name: string;
  value: string;
  target: string;
  met: boolean | undefined;
  /** For a missed target: by how much, in this run's own units, and where the difference lies. */
  why?: string;
}

const KB = 1024;
const us = (ns: number): string => (ns / 1000).toFixed(1);
const ms = (value: number): string => value.toFixed(1);
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const longerOrShorter = (differenceMs: number): string => `${ms(Math.abs(differenceMs))} ms ${differenceMs >= 0 ? 'longer' : 'shorter'}`;

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

function find<T extends { name: string }>(rows: T[], name: string): T | undefined {
  return rows.find((row) => row.name === name);
}

export function evaluateTargets(results: Pick<BenchResults, 'perRequest' | 'coldStart' | 'bundles'>, names: { oursCold: string; awsCold: string }): Target[] {
  const ratio = (alg: BenchAlgorithm, name: string) => find(results.perRequest[alg], name)?.ratioToFloor ?? Number.NaN;
  const check = (name: string, value: number, limit: number, format: (value: number) => string, target: string): Target => ({
    name, value: format(value), target, met: Number.isFinite(value) ? value <= limit : undefined,
  });
  // Three decimals: 1.103x against a 1.10x target must not print as 1.10x and "MISSED".
  const times = (value: number) => `${value.toFixed(3)}x`;
  const oursCold = find(results.coldStart, names.oursCold);
  const awsCold = find(results.coldStart, names.awsCold);
  // Runs of the two rows happen in the same rounds, so per-run differences cancel most machine drift.
  // Compared from the driver's start (import + first call): node's boot before it is the same for
  // both and would only add its noise.
  const pairedDifference = oursCold && awsCold ? median(oursCold.ownMsRuns.map((value, run) => value - awsCold.ownMsRuns[run]!)) : Number.NaN;
  const bundleKb = results.bundles.ours.bytes / KB;
  const nsOf = (alg: BenchAlgorithm, name: string) => find(results.perRequest[alg], name)?.nsPerOp ?? Number.NaN;
  // How many µs per call ours spends above the target, given this run's floor.
  const overBudget = (alg: BenchAlgorithm, name: string, limit: number) => {
    const budgetNs = limit * nsOf(alg, CONTENDER_NAMES.floor);
    return `${((nsOf(alg, name) - budgetNs) / 1000).toFixed(2)} µs/op over the target's ${(budgetNs / 1000).toFixed(2)}`;
  };
  const perRequestWhy = (alg: BenchAlgorithm, limit: number) => `missed by ${overBudget(alg, CONTENDER_NAMES.ours, limit)}: on top of the floor's verify, ours decodes the header and payload (base64url + JSON), checks the header and claims, reads the event and its ARN, matches the route and copies the policy; the floor does none of that`;
  const withWhy = (target: Target, why: string): Target => (target.met === false ? { ...target, why } : target);
  return [
    withWhy(check('RS256 ours/floor', ratio('RS256', CONTENDER_NAMES.ours), 1.15, times, '≤ 1.15x'), perRequestWhy('RS256', 1.15)),
    withWhy(check('ES256 ours/floor', ratio('ES256', CONTENDER_NAMES.ours), 1.10, times, '≤ 1.10x'), perRequestWhy('ES256', 1.10)),
    withWhy(
      check('RS256 cache hit/floor', ratio('RS256', CONTENDER_NAMES.oursCached), 0.05, times, '≤ 0.05x'),
      `missed by ${overBudget('RS256', CONTENDER_NAMES.oursCached, 0.05)}: a hit still reads the event and its ARN, compares the whole token, checks exp/nbf and the signing key's fingerprint, and copies the policy`,
    ),
    {
      name: 'cold start ours vs aws-jwt-verify',
      value: `${ms(oursCold?.decisionAtMs ?? Number.NaN)} ms vs ${ms(awsCold?.decisionAtMs ?? Number.NaN)} ms to first decision; import + first call, median of per-run differences ${pairedDifference >= 0 ? '+' : ''}${ms(pairedDifference)} ms`,
      target: '< aws-jwt-verify: median per-run difference of import + first call < 0',
      met: Number.isFinite(pairedDifference) ? pairedDifference < 0 : undefined,
      ...(oursCold && awsCold && pairedDifference >= 0 ? {
        why: `missed by ${ms(pairedDifference)} ms: ours' import is ${longerOrShorter(oursCold.importMs - awsCold.importMs)} (a larger bundle; the route table parsed and checked, the configuration validated, the JWKS request started), its first call ${longerOrShorter(oursCold.firstCallMs - awsCold.firstCallMs)}`,
      } : {}),
    },
    check('ours bundle', bundleKb, 60, (value) => `${value.toFixed(1)} KB`, '≤ 60 KB'),
    // Revocation's own cost, where nothing else hides it: a decision-cache hit with and without it.
    ...(['RS256', 'ES256'] as const).map((alg) => check(
      `${alg} revocation on, cache hit: added cost`,
      (nsOf(alg, CONTENDER_NAMES.oursRevocationCached) - nsOf(alg, CONTENDER_NAMES.oursCached)) / 1000,
      1, (value) => `${value >= 0 ? '+' : ''}${value.toFixed(2)} µs/op`, '≤ +1 µs/op',
    )),
    // The decision line (issue #15), with stdout a drained pipe.
    ...decisionLineTargets(results, check, times, nsOf),
    // DPoP: what the two signature checks cost, and everything else ours does on top (RFC 9449 §4.3).
    ...(['RS256', 'ES256'] as const).map((alg) => check(
      `${alg} DPoP request/two signature checks`,
      nsOf(alg, CONTENDER_NAMES.oursDpop) / nsOf(alg, CONTENDER_NAMES.floorDpop), 1.15, times, '≤ 1.15x',
    )),
    // An opaque token the introspection cache answers, against a JWT the decision cache answers.
    ...(['RS256', 'ES256'] as const).map((alg) => check(
      `${alg} introspection cache hit vs decision-cache hit`,
      (nsOf(alg, CONTENDER_NAMES.oursIntrospectionCached) - nsOf(alg, CONTENDER_NAMES.oursCached)) / 1000,
      1, (value) => `${value >= 0 ? '+' : ''}${value.toFixed(2)} µs/op`, '≤ +1 µs/op (within noise)',
    )),
  ];
}

function decisionLineTargets(
  results: Pick<BenchResults, 'perRequest'>,
  check: (name: string, value: number, limit: number, format: (value: number) => string, target: string) => Target,
  times: (value: number) => string,
  nsOf: (alg: BenchAlgorithm, name: string) => number,
): Target[] {
  const floor = (alg: BenchAlgorithm) => nsOf(alg, CONTENDER_NAMES.floor);
  const lineNs = (alg: BenchAlgorithm) => nsOf(alg, CONTENDER_NAMES.oursLogged) - nsOf(alg, CONTENDER_NAMES.ours);
  const bytes = find(results.perRequest.RS256, CONTENDER_NAMES.oursLoggedCached)?.logBytesPerDecision ?? Number.NaN;
  const why = (target: Target, reason: string): Target => (target.met === false ? { ...target, why: reason } : target);
  const lineWhy = (alg: BenchAlgorithm) => `the line costs ${(lineNs(alg) / 1000).toFixed(1)} µs here: one write(2) of ~${bytes.toFixed(0)} bytes to a pipe another process drains (the syscall and waking the reader on a busy 2-core machine), on top of building it (~1 µs)`;
  return [
    why(check('RS256 decision line cost/floor', lineNs('RS256') / floor('RS256'), 0.25, times, '≤ 0.25x'), lineWhy('RS256')),
    why(check('typical allow line, warm', bytes, 550, (value) => `${value.toFixed(0)} bytes`, '≤ 550 bytes'),
      `missed by ${(bytes - 550).toFixed(0)} bytes: the Powertools keys that identify the invocation (function_request_id, xray_trace_id, cold_start: ~130 bytes) and the EMF directive (~230 bytes) stay on every line`),
    why(check('RS256 ours, line on/floor', nsOf('RS256', CONTENDER_NAMES.oursLogged) / floor('RS256'), 1.5, times, '≤ 1.5x'), lineWhy('RS256')),
    why(check('ES256 ours, line on/floor', nsOf('ES256', CONTENDER_NAMES.oursLogged) / floor('ES256'), 1.25, times, '≤ 1.25x'), lineWhy('ES256')),
    why(check('RS256 same token, line on/floor', nsOf('RS256', CONTENDER_NAMES.oursLoggedCached) / floor('RS256'), 0.35, times, '≤ 0.35x'), lineWhy('RS256')),
    ...(['RS256', 'ES256'] as const).map((alg) => why(check(
      `${alg} ours, line on/aws-jwt-verify + Powertools`,
      nsOf(alg, CONTENDER_NAMES.oursLogged) / nsOf(alg, CONTENDER_NAMES.powertools), 0.5, times, '≤ 0.5x',
    ), `missed by ${((nsOf(alg, CONTENDER_NAMES.oursLogged) - 0.5 * nsOf(alg, CONTENDER_NAMES.powertools)) / 1000).toFixed(1)} µs/op: both pay the signature check (${(floor(alg) / 1000).toFixed(1)} µs) and a write to the pipe per line (theirs two lines), which no line format can make cheaper; the ratio can only approach 0.5x where those are small against Powertools' own work`)),
  ];
}

export function formatTargets(targets: Target[]): string {
  return targets.map((target) => `${target.name} ${target.value} (target ${target.target}): ${target.met === undefined ? 'not measured' : target.met ? 'met' : 'MISSED'}${target.why === undefined ? '' : `\n  ${target.why}`}`).join('\n');
}

export function formatReport(results: BenchResults): string {
  const out: string[] = [];
  const { machine } = results;
  out.push(`bearer-gate authorizer benchmark — ${machine.date}`);
  out.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.platform}, Node ${machine.node} (Lambda: nodejs22.x)`);
  out.push(`settings: ${Object.entries(results.settings).map(([key, value]) => `${key}=${String(value)}`).join(', ')}`);

  for (const [alg, rows] of Object.entries(results.perRequest)) {
    out.push('', `Per-request cost, ${alg} (median over rounds of the batch mean; p50/p99 from per-call hrtime samples)`);
    out.push(table(['contender', 'µs/op', 'ops/s', 'p50 µs', 'p99 µs', '× floor', 'JWKS fetches', 'log B/decision'], rows.map((row) => [
      row.name, us(row.nsPerOp), int(row.opsPerSecond), us(row.p50Ns), us(row.p99Ns), row.ratioToFloor.toFixed(3), String(row.jwksFetches),
      row.logBytesPerDecision === undefined ? '0' : row.logBytesPerDecision.toFixed(0),
    ])));
  }

  out.push('', `Cold start (fresh node process per run, esbuild-bundled entries; medians of ${results.coldStart[0]?.runs ?? 0} runs; ms from process start)`);
  out.push(table(['contender', 'to first decision', 'import', 'first call', 'node+driver', 'JWKS fetches/run'], results.coldStart.map((row) => [
    row.name, ms(row.decisionAtMs), ms(row.importMs), ms(row.firstCallMs), ms(row.driverStartMs), [...new Set(row.jwksFetchesPerRun)].join('/'),
  ])));

  out.push('', 'Bundle size (esbuild --bundle --minify --platform=node --format=esm --target=node22)');
  out.push(table(['entry', 'bytes', 'KB'], (Object.entries(results.bundles) as [BundleName, Bundle][]).flatMap(([name, bundle]) => [
    [`${name} (${bundle.entry})`, int(bundle.bytes), (bundle.bytes / KB).toFixed(1)],
    // Chunks loaded only when their feature is on (introspection, revocation): not in the cold start above.
    ...Object.entries(bundle.lazy ?? {}).map(([chunk, bytes]) => [`  + ${chunk}, only when its feature is on`, int(bytes), (bytes / KB).toFixed(1)]),
  ])));

  out.push('', `Peak RSS (process.resourceUsage().maxRSS after ${results.memory[0]?.verifications ?? 0} distinct RS256 tokens, fresh process each)`);
  out.push(table(['contender', 'max RSS MB', 'heap used MB'], results.memory.map((row) => [row.name, (row.maxRssKb / KB).toFixed(1), (row.heapUsedKb / KB).toFixed(1)])));

  out.push('', 'End to end through serverless offline (REST, GET /geocoding/v1/reverse, autocannon on loopback)');
  if ('skipped' in results.endToEnd) {
    out.push(`skipped: ${results.endToEnd.skipped}`);
  } else {
    const e2e = results.endToEnd;
    out.push(`${e2e.options.connections} connections; warm-up until 4 consecutive seconds agree within 20% (${e2e.options.warmupMinSeconds} to ${e2e.options.warmupMaxSeconds} s), then ${e2e.options.durationSeconds} s measured`);
    out.push(table(['run', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors', 'warm-up s', 'stalled s', 'responses per second'], [e2e.withAuth, e2e.noAuth].map((row) => [
      row.name, row.requestsPerSecond.toFixed(1), String(row.latencyP50Ms), String(row.latencyP99Ms), int(row.requests), String(row.non2xx), String(row.errors),
      String(row.warmupSeconds), String(row.stalledSeconds), row.perSecond.join(' '),
    ])));
    out.push(`with authorizer / --noAuth throughput: ${e2e.throughputRatio.toFixed(2)}x`);
    const self = e2e.authorizerSelfReport;
    out.push(`authorizer's own decision latency (from its decision logs during the run): p50 ${self.p50Ms.toFixed(3)} ms, p99 ${self.p99Ms.toFixed(3)} ms over ${int(self.decisions)} decisions; ${self.coldStarts} authorizer instance(s) started (jwks_fetched log lines)`);
  }

  out.push('', 'Targets');
  out.push(formatTargets(results.targets));
  out.push('', 'Notes');
  out.push(...results.notes.map((note) => `- ${note}`));
  out.push('', `total wall time: ${results.totalWallSeconds.toFixed(1)} s`);
  return out.join('\n');
}
