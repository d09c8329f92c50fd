import { alarmFieldsOf, alarmRuleOf, noDataPolicy, thresholdSamples } from '../../../lambdas/core/alarm-rules';
import type { AlertRule, Reading } from '../../../lambdas/core/types';

const LOW_PSI: AlertRule = { name: 'low-psi', field: 'psi', op: '<', threshold: 5 };

function at(psi: number): Reading {
  return { pump: 'P', day: '2014-03-10', time: '00:00:00', ts: '2014-03-10T00:00:00Z', values: { hz: 10, disp: 1, flo: 800, sedPPM: 1, psi, chlPPM: 1 } };
}

describe('alarm fields', () => {
  it('returns exactly the fields given, and nothing for a rule without alarm settings', () => {
    expect(alarmFieldsOf({ ...LOW_PSI }, 'r')).toStrictEqual({});
    expect(alarmFieldsOf({ ...LOW_PSI, severity: 'minor', forReadings: 3, forSeconds: 60, clearForReadings: 2, clearThreshold: 20, latch: true, notify: false }, 'r')).toStrictEqual({
      severity: 'minor', forReadings: 3, forSeconds: 60, clearForReadings: 2, clearThreshold: 20, latch: true, notify: false,
    });
  });

  it('accepts counts at their range bounds and rejects one past them, naming the field', () => {
    expect(alarmFieldsOf({ forReadings: 1, forSeconds: 0, clearForReadings: 10_000 }, 'r')).toStrictEqual({ forReadings: 1, forSeconds: 0, clearForReadings: 10_000 });
    expect(alarmFieldsOf({ forSeconds: 604_800 }, 'r')).toStrictEqual({ forSeconds: 604_800 });
    expect(() => alarmFieldsOf({ forSeconds: 604_801 }, 'r')).toThrow('r: forSeconds must be an integer 0–604800, got 604801');
    expect(() => alarmFieldsOf({ forSeconds: -1 }, 'r')).toThrow('forSeconds must be an integer');
    expect(() => alarmFieldsOf({ clearForReadings: 10_001 }, 'r')).toThrow('r: clearForReadings must be an integer 1–10000, got 10001');
    expect(() => alarmFieldsOf({ forReadings: 1.5 }, 'r')).toThrow('forReadings must be an integer');
  });

  it('clearThreshold: must be a finite number on the recovered side of the threshold for every op', () => {
    expect(() => alarmFieldsOf({ ...LOW_PSI, clearThreshold: 'x' }, 'r')).toThrow('r: clearThreshold must be a finite number, got "x"');
    expect(alarmFieldsOf({ ...LOW_PSI, clearThreshold: 5 }, 'r')).toStrictEqual({ clearThreshold: 5 });
    expect(() => alarmFieldsOf({ ...LOW_PSI, op: '<=', clearThreshold: 4 }, 'r')).toThrow('r: clearThreshold must be ≥ threshold 5 for op <= (hysteresis clears on the recovered side), got 4');
    expect(alarmFieldsOf({ ...LOW_PSI, op: '<=', clearThreshold: 6 }, 'r')).toStrictEqual({ clearThreshold: 6 });
    expect(() => alarmFieldsOf({ ...LOW_PSI, op: '>', clearThreshold: 6 }, 'r')).toThrow('r: clearThreshold must be ≤ threshold 5 for op > (hysteresis clears on the recovered side), got 6');
    expect(alarmFieldsOf({ ...LOW_PSI, op: '>', clearThreshold: 5 }, 'r')).toStrictEqual({ clearThreshold: 5 });
    expect(alarmFieldsOf({ ...LOW_PSI, op: '>=', clearThreshold: 4 }, 'r')).toStrictEqual({ clearThreshold: 4 });
  });

  it('latch and notify must be booleans', () => {
    expect(() => alarmFieldsOf({ latch: 'yes' }, 'r')).toThrow('r: latch must be true or false, got "yes"');
    expect(() => alarmFieldsOf({ notify: 1 }, 'r')).toThrow('r: notify must be true or false, got 1');
  });
});

describe('alarm rule resolution', () => {
  it("names the rule in errors and resolves the worse direction from the op", () => {
    expect(() => alarmRuleOf({ ...LOW_PSI, forReadings: 0 } as AlertRule)).toThrow('alert rule low-psi: forReadings');
    expect(alarmRuleOf({ ...LOW_PSI, op: '<=' }).policy.worse).toBe('lower');
    expect(alarmRuleOf({ ...LOW_PSI, op: '>' }).policy.worse).toBe('higher');
    expect(alarmRuleOf({ ...LOW_PSI, op: '>=' }).policy.worse).toBe('higher');
    expect(alarmRuleOf({ ...LOW_PSI, notify: false } as AlertRule).policy.notify).toBe(false);
  });

  it('the no-data policy notifies', () => {
    expect(noDataPolicy()).toMatchObject({ rule: 'no-data', kind: 'no-data', severity: 'major', notify: true, latch: false, worse: 'higher' });
    expect(noDataPolicy('critical').severity).toBe('critical');
  });
});

describe('threshold samples', () => {
  /** [raise, clear] for psi values against a rule with threshold 5 and clear level 10 (or 0 for > rules). */
  function rc(op: AlertRule['op'], clearThreshold: number, psis: number[]): [boolean, boolean][] {
    const rule = alarmRuleOf({ ...LOW_PSI, op, clearThreshold } as AlertRule);
    return psis.map((psi) => {
      const s = thresholdSamples([rule], at(psi))[0]!;
      return [s.raise, s.clear];
    });
  }

  it('< raises below the threshold and clears at or above the clear level', () => {
    expect(rc('<', 10, [4, 5, 9, 10, 11])).toEqual([[true, false], [false, false], [false, false], [false, true], [false, true]]);
  });
  it('<= raises at or below the threshold and clears above the clear level', () => {
    expect(rc('<=', 10, [4, 5, 6, 10, 11])).toEqual([[true, false], [true, false], [false, false], [false, false], [false, true]]);
  });
  it('> raises above the threshold and clears at or below the clear level', () => {
    expect(rc('>', 0, [6, 5, 1, 0, -1])).toEqual([[true, false], [false, false], [false, false], [false, true], [false, true]]);
  });
  it('>= raises at or above the threshold and clears below the clear level', () => {
    expect(rc('>=', 0, [6, 5, 4, 0, -1])).toEqual([[true, false], [true, false], [false, false], [false, false], [false, true]]);
  });
  it('a NaN value neither raises nor clears; the sample carries the reading and rule', () => {
    expect(rc('<', 10, [NaN])).toEqual([[false, false]]);
    const s = thresholdSamples([alarmRuleOf(LOW_PSI)], at(3))[0]!;
    expect(s).toEqual({ pump: 'P', rule: 'low-psi', kind: 'threshold', severity: 'major', ts: '2014-03-10T00:00:00Z', value: 3, raise: true, clear: false, detail: 'psi 3 < 5' });
  });
});
