/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
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
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
