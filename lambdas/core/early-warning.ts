/**
 * The early-warning detectors' conditions as alarm samples: the policies of their rules and the samples themselves.
 *
 * A detector reports only changes (raise on the reading it fires, clear once its series has been back at the
 * baseline for `clearReadings` readings), so its policy needs no streaks of its own: `forReadings` and
 * `clearForReadings` are 1 and the hysteresis lives in the detector. Pure TypeScript, no AWS imports.
 */
import { ALARM_KINDS, type AlarmPolicy, type ConditionSample } from './alarm-rules';
import type { DetectorCondition, DetectorDetail, DetectorSpec } from './detectors/types';

/**
 * The alarm rule name of a detector on a measure, e.g. `psi-drift`.
 *
 * @example
 * earlyWarningRule('psi', 'drift'); // → 'psi-drift'
 */
export function earlyWarningRule(measure: string, detector: string): string {
  return `${measure}-${detector}`;
}

/**
 * The alarm policy of every rule the specs can raise: kind `early-warning`, the spec's severity, notify, no latch.
 *
 * @example
 * earlyWarningPolicies(DEFAULT_DETECTORS).get('psi-drift')?.severity; // → 'advisory'
 */
export function earlyWarningPolicies(specs: readonly DetectorSpec[]): Map<string, AlarmPolicy> {
  const out = new Map<string, AlarmPolicy>();
  for (const spec of specs) {
    for (const detector of spec.detectors) {
      const rule = earlyWarningRule(spec.measure, detector);
      out.set(rule, {
        rule,
        kind: ALARM_KINDS.earlyWarning,
        severity: spec.severity,
        forReadings: 1,
        forSeconds: 0,
        clearForReadings: 1,
        latch: false,
        notify: true,
        // The worst value of a warning is its furthest reading from the baseline; pressure sagging is the usual case.
        worse: 'lower',
      });
    }
  }
  return out;
}

/** A number with 3 significant decimals at most (details are read by people). */
function short(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : String(x);
}

/**
 * The one-line explanation stored with an early-warning alarm: measure, detector, baseline, current level,
 * deviation in baseline spreads, the detector's score, and since when.
 *
 * @example
 * explainDetail(d); // → 'psi drift: level 41.2 vs baseline 55 (spread 1.3, -10.6 spreads), score 151.2, since 2014-03-10T02:00:00Z'
 */
export function explainDetail(d: DetectorDetail): string {
  return (
    `${d.measure} ${d.detector}: level ${short(d.level)} vs baseline ${short(d.baseline)} ` +
    `(spread ${short(d.spread)}, ${d.deviation >= 0 ? '+' : ''}${short(d.deviation)} spreads), score ${short(d.score)}, since ${d.since}`
  );
}

/**
 * A detector condition as the alarm layer's sample; its `detail` explains it (see {@link explainDetail}). The alarm
 * is raised at the reading the detector fired on; when the deviation began is in the detail (`since`).
 *
 * @example
 * conditionSample(condition); // → { rule: 'psi-drift', kind: 'early-warning', raise: true, detail: 'psi drift: …', … }
 */
export function conditionSample(c: DetectorCondition): ConditionSample {
  return {
    pump: c.pump,
    rule: c.rule,
    kind: c.kind,
    severity: c.severity,
    ts: c.ts,
    value: c.value,
    raise: c.raise,
    clear: c.clear,
    detail: explainDetail(c.detail),
  };
}
