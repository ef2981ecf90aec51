/**
 * What the handler writes, captured in the test process (and passed on: the test runner reads
 * this process's stdout too), and the log lines read back from it.
 */
import assert from 'node:assert/strict';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { policyAllows } from './policy.js';

export interface CapturedOutput {
  /** Every chunk written to stdout or stderr since `captureOutput`, in order. */
  readonly chunks: string[];
  /** Puts process.stdout.write and process.stderr.write back. */
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const writes = [process.stdout.write, process.stderr.write] as const;
  const capture = (original: typeof process.stdout.write) => ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(String(chunk));
    return (original as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  process.stdout.write = capture(writes[0].bind(process.stdout));
  process.stderr.write = capture(writes[1].bind(process.stderr));
  return { chunks, restore: () => ([process.stdout.write, process.stderr.write] = writes) };
}

/**
 * The decision lines among chunks (from `from` on). The test runner's own (binary) reports pass
 * through stdout too, unterminated: a log line may follow one on the same "line".
 */
export function decisionLines(chunks: readonly string[], from = 0): Record<string, unknown>[] {
  return chunks.slice(from).join('').split('\n')
    .map((line) => line.slice(Math.max(0, line.indexOf('{"level"'))))
    .filter((line) => line.startsWith('{"level"') && line.includes('"message":"decision"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export type EventHandler = (event: never) => Promise<APIGatewayAuthorizerResult>;

/** What the handler answered an event (Allow/Deny for its ARN, or the thrown message) and its one decision line. */
export async function decideWith(output: CapturedOutput, handler: EventHandler, event: { methodArn?: string; routeArn?: string }): Promise<{ effect: string | undefined; thrown: string | undefined; line: Record<string, unknown> }> {
  const mark = output.chunks.length;
  let effect: string | undefined;
  let thrown: string | undefined;
  try {
    effect = policyAllows(await handler(event as never), (event.methodArn ?? event.routeArn)!) ? 'Allow' : 'Deny';
  } catch (error) {
    thrown = (error as Error).message;
  }
  const lines = decisionLines(output.chunks, mark);
  assert.equal(lines.length, 1, 'one decision line');
  return { effect, thrown, line: lines[0]! };
}
