/**
 * What a scale run must show, by the key design it exercised (see {@link keyDesign}).
 *
 * - Today's design (a day's markers on `DAY#<day>`, a day's alerts on one alertsByDay key): at the 1,000,000-pump
 *   equivalent, the day markers are throttled when the run crosses a midnight and the alertsByDay key when it has
 *   a storm — the "before".
 * - The sharded design: no request throttled on any key, and the consumer caught up (iterator age back to at most
 *   `caughtUpMs`) within {@link LAG_BOUND_SECONDS} of the last load event, its backlog drained — the "after".
 *
 * WELLWATCH_SCALE_EXPECT=throttling|none overrides the choice (e.g. to check a half-sharded branch).
 */
import { crossesMidnight, hasStorm, keyDesign, type ScaleReport } from './scenario';

/** The stated bound: seconds after the last load event (midnight minute, storm) by which the lag has recovered. */
export const LAG_BOUND_SECONDS = 30;

/** Which outcome a run is held to. */
export type Expectation = 'throttling' | 'none';

/**
 * The expectation of a report: from WELLWATCH_SCALE_EXPECT, else from its key design.
 *
 * @example
 * expectationOf(report); // → 'throttling' on today's design
 */
export function expectationOf(r: Pick<ScaleReport, 'families'>, env: NodeJS.ProcessEnv = process.env): Expectation {
  const forced = env.WELLWATCH_SCALE_EXPECT;
  if (forced === 'throttling' || forced === 'none') return forced;
  const d = keyDesign(r);
  return d.dayMarkers === 'single' || d.alertsByDay === 'single' ? 'throttling' : 'none';
}

/**
 * The ways a report misses its expectation; empty when it meets it.
 *
 * @example
 * expect(checkExpectations(report)).toEqual([]);
 */
export function checkExpectations(r: ScaleReport, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const throttledOn = (pred: (pattern: string, resource: string) => boolean) =>
    r.families.filter((f) => f.direction === 'write' && pred(f.pattern, f.resource)).reduce((a, f) => a + f.throttledRequests, 0);
  const d = keyDesign(r);
  if (crossesMidnight(r.scenario) && d.dayMarkers === 'unseen') problems.push("no day marker was written: the consumer never reached the new day's readings");
  if (hasStorm(r.scenario) && d.alertsByDay === 'unseen') problems.push('no alert reached the alertsByDay index: the consumer never reached the storm');
  if (expectationOf(r, env) === 'throttling') {
    if (d.dayMarkers === 'single' && throttledOn((p) => p === 'DAY#<day>') === 0) problems.push('today\'s DAY#<day> key was not throttled at midnight');
    if (d.alertsByDay === 'single' && throttledOn((p, res) => res.endsWith('/alertsByDay') && p === '<day>') === 0) problems.push('the unsharded alertsByDay key was not throttled in the storm');
    return problems;
  }
  const throttled = r.families.filter((f) => f.throttledRequests > 0);
  for (const f of throttled) problems.push(`${f.direction} ${f.resource} ${f.pattern}: ${f.throttledRequests} throttled request(s), peak demand ${f.peakDemandPerSecond.toFixed(1)}/s against ${f.limit.toFixed(2)}/s`);
  if (r.lag.drainedAfterSeconds === undefined) problems.push(`the backlog did not drain within ${r.scenario.drainTimeoutSeconds} s of the feed's end`);
  if (r.lag.recoveredAfterSeconds === undefined || r.lag.recoveredAfterSeconds > LAG_BOUND_SECONDS) {
    problems.push(`lag recovered ${r.lag.recoveredAfterSeconds ?? 'never'} s after the last load event (bound ${LAG_BOUND_SECONDS} s)`);
  }
  return problems;
}
