import { DEFAULT_DETECTORS, DETECTOR_DEFAULTS } from '../../../lambdas/config';
import { conditionSample, earlyWarningPolicies, explainDetail } from '../../../lambdas/core/early-warning';
import type { DetectorCondition } from '../../../lambdas/core/detectors/types';

const condition: DetectorCondition = {
  pump: 'COHUTTA',
  rule: 'psi-drift',
  kind: 'early-warning',
  severity: 'advisory',
  ts: '2014-03-10T05:00:00Z',
  value: 41,
  raise: true,
  clear: false,
  detail: { measure: 'psi', detector: 'drift', baseline: 55.04321, level: 41.2, spread: 1.3, deviation: -10.6154, score: 151.23456, since: '2014-03-10T02:00:00Z' },
};

describe('early-warning conditions as alarm samples', () => {
  it('gives every default detector rule an advisory early-warning policy that needs no streak of its own', () => {
    const policies = earlyWarningPolicies(DEFAULT_DETECTORS);
    expect([...policies.keys()].sort()).toEqual(['disp-drift', 'hz-drift', 'hz-step', 'psi-drift', 'psi-step']);
    expect(policies.get('psi-step')).toMatchObject({ kind: 'early-warning', severity: 'advisory', forReadings: 1, clearForReadings: 1, latch: false, notify: true });
  });

  it('carries a configured severity into the policy', () => {
    expect(earlyWarningPolicies([{ ...DETECTOR_DEFAULTS.psi, severity: 'minor' }]).get('psi-drift')?.severity).toBe('minor');
  });

  it('explains a warning in one line: measure, detector, level, baseline, spread, deviation, score, since', () => {
    expect(explainDetail(condition.detail)).toBe('psi drift: level 41.2 vs baseline 55.043 (spread 1.3, -10.615 spreads), score 151.235, since 2014-03-10T02:00:00Z');
    expect(explainDetail({ ...condition.detail, deviation: 2.5 })).toContain('+2.5 spreads');
    // At the baseline exactly the deviation still carries its sign, like every non-negative one.
    expect(explainDetail({ ...condition.detail, deviation: 0 })).toContain(', +0 spreads)');
  });

  it('turns a condition into a sample of the same pump, rule, time and verdict', () => {
    expect(conditionSample(condition)).toEqual({
      pump: 'COHUTTA',
      rule: 'psi-drift',
      kind: 'early-warning',
      severity: 'advisory',
      ts: '2014-03-10T05:00:00Z',
      value: 41,
      raise: true,
      clear: false,
      detail: explainDetail(condition.detail),
    });
  });
});
