#!/usr/bin/env sh
# The reliability suite at full size (issue 4): >= 100,000 readings through the DynamoDB fault proxy and the
# crashing consumer, SIGKILL/restart cycles on a bigger input, producer faults, a larger fuzzing run, and the rollup
# fan-out of a 20,000-pump day with a worker crash and the reduced scale run through the partition-limit proxy
# (issue 13).
# `npm test` runs the same tests at their default (smaller) size. Extra arguments go to jest.
set -eu
cd "$(dirname "$0")/.."
WELLWATCH_RELIABILITY_FULL=1 exec npx jest test/reliability test/lambdas/core/fuzz.test.ts test/cli/errors.test.ts test/local/rollup-fanout.test.ts test/scale/fleet.test.ts --maxWorkers=1 "$@"
