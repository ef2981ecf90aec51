/**
 * The local stack for an end-to-end test file: started before its tests (issuer, dynalite,
 * serverless offline on free ports, data in a temporary folder), stopped after, with everything it
 * printed kept for the tests to search.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { freePort, type RunningStack, startStack } from '../../local/stack.js';

export interface TestStack {
  /** The running stack; only once the `before` hook has run. */
  readonly stack: RunningStack;
  /** Every line the stack printed. */
  readonly output: string[];
  readonly dataDir: string;
}

/**
 * Registers the hooks: call at the top of a test file. What the file must do with the started
 * stack before its tests goes in `afterStart` (in the same hook: two root `before` hooks do not wait
 * for each other).
 */
export function useLocalStack(name: string, stage = 'dev', afterStart?: (stack: RunningStack) => Promise<void>): TestStack {
  const dataDir = mkdtempSync(join(tmpdir(), `bearer-gate-${name}-`));
  const output: string[] = [];
  let running: RunningStack | undefined;
  before(async () => {
    running = await startStack({
      issuerPort: 0, dynamodbPort: 0, apiPort: await freePort(), lambdaPort: await freePort(),
      dataDir, stage, startTimeoutMs: 180_000, onOutput: (line) => output.push(line),
    });
    await afterStart?.(running);
  }, { timeout: 200_000 });
  after(async () => {
    await running?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    get stack() {
      if (running === undefined) throw new Error('the local stack is not started yet (its before hook has not run)');
      return running;
    },
    output,
    dataDir,
  };
}
