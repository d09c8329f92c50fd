/**
 * Jest configuration for mutation testing (`npm run mutation`): only the tests of the mutated code.
 *
 * Stryker runs the suite once per mutant (only the tests that cover it), so the CDK, local-mode, CLI and e2e
 * suites — which exercise lambdas/ only indirectly and take most of `npm test`'s time — are left out. The score
 * therefore measures what test/lambdas/** alone protects.
 *
 * MUTATION_TESTS narrows the run to a comma-separated list of test folders or files (relative to the repo); the
 * scopes of `npm run mutation` (scripts/mutation.ts) set it to the suites that test each scope's files. The roots
 * then widen to test/ so a scope may name a suite outside test/lambdas.
 */
const base = require('./jest.config.js');

// Property tests run at most 100 cases per mutant (test/helpers/property-runs.ts).
process.env.WELLWATCH_MUTATION_RUN = '1';

const scoped = (process.env.MUTATION_TESTS ?? '')
  .split(',')
  .map((p) => p.trim())
  .filter((p) => p !== '');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  // A scoped run may name suites outside test/lambdas (the explain CLI test exercises the detectors' explanations).
  roots: [scoped.length > 0 ? '<rootDir>/test' : '<rootDir>/test/lambdas'],
  ...(scoped.length > 0 ? { testMatch: scoped.map((p) => (p.endsWith('.ts') ? `<rootDir>/${p}` : `<rootDir>/${p}/**/*.test.ts`)) } : {}),
  // The two emulator-backed suites (fuzz, payload formats) take a minute per run; the unit tests reach the same code
  // directly, and a mutant run cannot afford them on a shared 2-core machine.
  testPathIgnorePatterns: ['/node_modules/', '/test/lambdas/core/fuzz\\.test\\.ts$', '/test/lambdas/core/payload-formats\\.test\\.ts$'],
  // Stryker's own reporter reads the results; the summary reporter would only print noise per mutant.
  reporters: ['default'],
};
