/**
 * Loaded before every test file (`--import ./test/helpers/fail-fast-assert.ts` in package.json's
 * test scripts and in stryker.config.mjs), so that a failing `assert.ok(value)` fails at once.
 *
 * Why: on Node 20, a failing `assert.ok(value)` with no message describes itself by opening the
 * caller's file, going to the line and column V8 reports and parsing from there with acorn to
 * quote the expression (getErrMessage in node's lib/internal/assert/utils.js). Under tsx those are
 * positions in the transpiled code: tsx minifies whitespace, so a test module is one line and the
 * column is in the thousands. But the file opened is the TypeScript source. When acorn finds no
 * call expression at that column of it (TypeScript syntax, or another statement) and the file goes
 * on for more than 2,500 bytes past it, node's reader (findColumn) computes that it needs 0 more
 * bytes, reads 0, and calls itself again: it re-parses the same text on every turn until the stack
 * overflows, minutes at 100% CPU, during which the test's own timer cannot fire. Newer Node
 * releases take the source from memory instead; Node 20 does not.
 *
 * The fix: `assert.ok(value)` without a message (on node:assert and node:assert/strict) throws the
 * AssertionError Node would throw when it cannot read the source, `<value> == true`, without
 * reading anything. The stack (source-mapped by tsx) says where. An assertion with a message, a
 * passing one, and `assert.ok()` with no argument at all go to node's own function unchanged.
 * `assert(value)` called directly cannot be patched this way; the suite calls `assert.ok`, and
 * test/unit/failing-assertion.test.ts fails if a direct call appears.
 */
import assert, { AssertionError } from 'node:assert';
import { syncBuiltinESMExports } from 'node:module';

const nodeOk = assert.ok;

function ok(...args: unknown[]): void {
  if (args.length === 0 || args[0] || args[1] != null) {
    (nodeOk as (...values: unknown[]) => void)(...args);
    return;
  }
  throw new AssertionError({ actual: args[0], expected: true, operator: '==', stackStartFn: ok });
}

for (const target of [assert, assert.strict]) Object.defineProperty(target, 'ok', { value: ok, writable: true, enumerable: true, configurable: true });
// Named imports (`import { ok } from 'node:assert'`) read the ES module's own bindings: refresh them.
syncBuiltinESMExports();
