// Mutation testing of the authorizer's decision modules: `npm run mutation` (README, "Mutation testing").
// Not part of `npm test`: it takes tens of minutes on 2 cores. StrykerJS 9 (10 needs Node 22).
//
// The tap runner runs each test file as `node --import tsx … <file>` and reads node:test's TAP
// output; its coverage analysis is per test file, so a mutant only runs the test files that
// executed its code (the command runner would run every test file for each of ~1,000 mutants).

// The properties run in every mutant's tests: fewer runs (200 in npm test), and a fixed seed so
// that a mutant is killed or not the same way on every run. Both can be overridden from the shell.
process.env.FUZZ_RUNS ??= '50';
process.env.FUZZ_SEED ??= '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'lib/authorizer/access.ts',
    'lib/authorizer/route-table.ts',
    'lib/authorizer/policy.ts',
    'lib/authorizer/bearer.ts',
    'lib/authorizer/execute-api-arn.ts',
    'lib/authorizer/events.ts',
    'lib/jwt/scopes.ts',
    'lib/jwt/claims.ts',
    'lib/jwt/algorithms.ts',
    'lib/jwt/decode.ts',
    'lib/jwt/issuer-profile.ts',
  ],
  testRunner: 'tap',
  tap: {
    // The unit tests of the decision modules and of the code that calls them, and the properties.
    testFiles: ['test/unit/authorizer/*.test.ts', 'test/unit/jwt/*.test.ts', 'test/property/*.test.ts'],
    // The same loader and fail-fast assertion fix as the test scripts; --test-timeout bounds a
    // test that hangs inside its file, Stryker's own timeout (below) the whole file.
    nodeArgs: ['--import', 'tsx', '--import', './test/helpers/fail-fast-assert.ts', '--test-reporter=tap', '--test-timeout=60000', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // One test process at a time: the machine has 2 cores, and others run their tests on it too.
  concurrency: 1,
  // A mutant's run is cut off (status Timeout) after 1.5 × its unmutated time + 10 s.
  timeoutMS: 10000,
  timeoutFactor: 1.5,
  // Only what the tests need is copied into the sandbox.
  ignorePatterns: ['/*', '!/lib/', '!/handlers/', '!/test/', '!/routes.json', '!/package.json', '!/tsconfig.json'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportScoreTable: true, reportMutants: true },
  // `npm run mutation -- --incremental` re-tests only what changed since this file was written.
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  thresholds: { high: 95, low: 90, break: null },
};
