/**
 * The reduced scale run: 1,500 pumps against DynamoDB's per-key limits / 666.7 stand for 1,000,000 pumps, through
 * local mode behind the partition-limit proxy, through an alert storm and across a midnight.
 *
 * It holds the run to the expectation of the key design it finds (expectations.ts): on today's keys the day
 * markers and the alertsByDay index are throttled (the "before"); once they are sharded, no key is throttled and
 * the consumer catches up within LAG_BOUND_SECONDS (the "after"). The full-size run is `npm run scale`.
 */
import { checkExpectations } from './expectations';
import { formatReport, REDUCED_SCENARIO, runScaleScenario } from './scenario';

// About 2.5 minutes: a 60 s warm-up feed, 75 s of real-time feed and up to 45 s of drain.
jest.setTimeout(360_000);

test('a million-pump-equivalent fleet across midnight and an alert storm meets the expectation of its key design', async () => {
  const report = await runScaleScenario(REDUCED_SCENARIO);
  const problems = checkExpectations(report);
  // The numbers go to the log whatever the outcome: they are the point of the run.
  process.stderr.write(`${formatReport(report)}\n`);
  expect(problems).toEqual([]);
});
