/**
 * A test that fails must fail, within its time limit. On Node 20 under tsx, a failing
 * `assert.ok(value)` without a message used to spin at 100% CPU for minutes instead (see
 * test/helpers/fail-fast-assert.ts for why, and for the fix the test scripts load). These tests
 * run such an assertion the way the suite is run, and keep the fix in place.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = resolve(new URL('../..', import.meta.url).pathname);
const PRELOAD = './test/helpers/fail-fast-assert.ts';
/** Without the fix the fixture spins for well over 100 s on this machine; with it, it fails in under 1 s. */
const BOUND_MS = 30_000;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  elapsedMs: number;
}

function runNode(args: readonly string[], boundMs: number): Promise<Outcome> {
  const started = performance.now();
  // A test file run by `node --test` reports to its parent in a binary format: the child reports as TAP.
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output, elapsedMs: performance.now() - started });
    });
  });
}

/** The `--import` flags this test process was started with: tsx, and the fix when the suite is run as package.json runs it. */
function importFlags(): string[] {
  const flags: string[] = [];
  const argv = process.execArgv;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--import' && argv[index + 1] !== undefined) flags.push(arg, argv[(index += 1)]!);
    else if (arg.startsWith('--import=')) flags.push(arg);
  }
  return flags;
}

function typeScriptFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

describe('a failing assertion fails, and in time', () => {
  it('a messageless assert.ok(value) that fails, deep in a long TypeScript file, fails the test within the bound', async () => {
    const flags = importFlags();
    const outcome = await runNode([...flags, '--test-reporter=tap', 'test/fixtures/failing-assertion.ts'], BOUND_MS);
    assert.equal(outcome.signal, null, `the failing assertion was still running after ${BOUND_MS} ms (run with ${flags.join(' ')}); load ${PRELOAD} with --import`);
    assert.equal(outcome.code, 1, outcome.output);
    assert.match(outcome.output, /not ok 1 - finds a route that is not there/);
    assert.match(outcome.output, /undefined == true/);
    assert.match(outcome.output, /failing-assertion\.ts:\d+:\d+/, 'the stack names the line of the assertion');
  });

  it('the fix keeps node\'s own behaviour for passing assertions, assertions with a message, and no argument', () => {
    assert.doesNotThrow(() => assert.ok(1));
    assert.throws(() => assert.ok(0, 'zero is falsy'), { name: 'AssertionError', message: 'zero is falsy' });
    assert.throws(() => assert.ok(false, new RangeError('own error')), RangeError);
    assert.throws(() => (assert.ok as (...values: unknown[]) => void)(), { name: 'AssertionError', message: /No value argument passed/ });
    assert.throws(() => assert.ok(''), { name: 'AssertionError', message: "'' == true", actual: '', expected: true, operator: '==' });
  });

  it('every test script of package.json loads the fix', () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const running = Object.entries(scripts).filter(([, command]) => / --test\b/.test(command));
    assert.ok(running.length >= 5, `only ${running.length} test scripts found`);
    for (const [name, command] of running) assert.ok(command.includes(`--import ${PRELOAD}`), `"${name}" runs tests without --import ${PRELOAD}`);
  });

  it('no test calls assert(value) directly, which the fix cannot reach (assert.ok is the same check)', () => {
    const direct: string[] = [];
    for (const file of [...typeScriptFiles('test'), ...typeScriptFiles('local'), ...typeScriptFiles('bench')]) {
      const source = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'assert') {
          direct.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    assert.deepEqual(direct, [], 'write assert.ok(value, message) instead');
  });
});
