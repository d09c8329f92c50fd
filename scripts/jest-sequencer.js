// Starts the known-long suites first, whatever jest's cache holds. Without a cache (a fresh clone, as CI runs) jest
// orders files by size, so a long suite could start last and leave one of the two workers running it alone.
const Sequencer = require('@jest/test-sequencer').default;

const LONG_FIRST = [
  'test/reliability/fault-injection.test.ts',
  'test/local/rollup-fanout.test.ts',
  'test/lib/wellwatch-stack.test.ts',
  'test/lib/query-api.test.ts',
  'test/lambdas/core/fuzz.test.ts',
  'test/lambdas/rollup/handler.test.ts',
  'test/cli/replay.test.ts',
];

class LongFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const rank = (t) => {
      const i = LONG_FIRST.findIndex((p) => t.path.endsWith(p));
      return i < 0 ? LONG_FIRST.length : i;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
module.exports = LongFirstSequencer;
