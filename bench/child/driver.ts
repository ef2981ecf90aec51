/**
 * Runs in a fresh `node` process: imports one contender bundle and either makes one decision
 * (`cold`) or verifies every token of a file (`rss`), then prints one result line and exits.
 * performance.now() counts from the start of this process.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { RESULT_PREFIX } from './driver-protocol.js';

interface Policy {
  policyDocument: { Statement: { Effect: string }[] };
}
type Handler = (event: unknown) => Promise<Policy>;

const event = (token: string) => {
  const authorization = `Bearer ${token}`;
  return { type: 'REQUEST', methodArn: process.env['BENCH_METHOD_ARN'], headers: { Authorization: authorization }, multiValueHeaders: { Authorization: [authorization] } };
};

function allowed(policy: Policy): boolean {
  return policy.policyDocument.Statement.some((statement) => statement.Effect === 'Allow');
}

const driverStartMs = performance.now();
const [bundle, mode] = process.argv.slice(2) as [string, 'cold' | 'rss'];
const importStart = performance.now();
const { handler } = await import(pathToFileURL(bundle).href) as { handler: Handler };
const importMs = performance.now() - importStart;

let result: Record<string, number>;
if (mode === 'cold') {
  const callStart = performance.now();
  const policy = await handler(event(process.env['BENCH_TOKEN'] ?? ''));
  const decisionAtMs = performance.now();
  if (!allowed(policy)) throw new Error('the first decision was not an allow');
  result = { driverStartMs, importMs, firstCallMs: decisionAtMs - callStart, decisionAtMs };
} else {
  const tokens = JSON.parse(readFileSync(process.env['BENCH_TOKENS_FILE'] ?? '', 'utf8')) as string[];
  for (const token of tokens) {
    if (!allowed(await handler(event(token)))) throw new Error('a valid token was refused');
  }
  result = { verifications: tokens.length, maxRssKb: process.resourceUsage().maxRSS, heapUsedKb: Math.round(process.memoryUsage().heapUsed / 1024) };
}
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
process.exit(0);
