/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The reduced scale run (a real-time feed of about 2.5 minutes through the partition-limit proxy) runs in
  // `npm run test:reliability` (WELLWATCH_RELIABILITY_FULL=1, which CI runs), keeping `npm test` within its time
  // budget; the scale suite's pure tests (feed, key patterns, expectations) run in both.
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.WELLWATCH_RELIABILITY_FULL === '1' ? [] : ['<rootDir>/test/scale/fleet\\.test\\.ts$'])],
  // .ts before .js so `bin/wellwatch` resolves to the CLI module, not its launcher script.
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: 'tsconfig.json' }],
  },
  // A hang fails in 30 s, not minutes: every test but a few took at most 12 s on a 2-core machine at load 19
  // (seven helpers' builds at once). The legitimately long suites (reliability, fuzz, e2e, CDK synthesis, push,
  // local mode) raise their own limit with jest.setTimeout at the top of the file, measured the same way.
  testTimeout: 30_000,
  maxWorkers: 2,
  // The long suites first, also without a cache (scripts/jest-sequencer.js).
  testSequencer: '<rootDir>/scripts/jest-sequencer.js',
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
