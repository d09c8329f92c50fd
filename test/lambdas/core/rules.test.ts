import { DEFAULT_ALERT_RULES } from '../../../lambdas/config';
import { WellwatchError } from '../../../lambdas/core/errors';
import { compileRules } from '../../../lambdas/core/rules';
import type { AlertRule, MeasureValues } from '../../../lambdas/core/types';

function values(overrides: Partial<MeasureValues> = {}): MeasureValues {
  return { hz: 10, disp: 2, flo: 800, sedPPM: 1.5, psi: 85, chlPPM: 1.9, ...overrides };
}

describe('compileRules', () => {
  test.each([
    // op, threshold, value, triggers
    ['<', 5, 4.999, true],
    ['<', 5, 5, false],
    ['<', 5, 5.001, false],
    ['<=', 5, 4.999, true],
    ['<=', 5, 5, true],
    ['<=', 5, 5.001, false],
    ['>', 5, 4.999, false],
    ['>', 5, 5, false],
    ['>', 5, 5.001, true],
    ['>=', 5, 4.999, false],
    ['>=', 5, 5, true],
    ['>=', 5, 5.001, true],
    ['<', 0, -0.5, true],
    ['>=', -1, -1, true],
  ] as const)('psi %s %d with psi = %d triggers: %s', (op, threshold, psi, triggers) => {
    const evaluate = compileRules([{ name: 'r', field: 'psi', op, threshold }]);
    expect(evaluate(values({ psi }))).toEqual(triggers ? ['r'] : []);
  });

  test('the default rule fires on low pressure only', () => {
    const evaluate = compileRules(DEFAULT_ALERT_RULES);
    expect(evaluate(values({ psi: 0 }))).toEqual(['low-psi']);
    expect(evaluate(values({ psi: 4.99 }))).toEqual(['low-psi']);
    expect(evaluate(values({ psi: 5 }))).toEqual([]);
    expect(evaluate(values({ psi: 85, hz: 0 }))).toEqual([]);
  });

  test('each rule looks at its own field', () => {
    const fields = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'] as const;
    const rules: AlertRule[] = fields.map((field) => ({ name: `${field}-high`, field, op: '>', threshold: 100 }));
    const evaluate = compileRules(rules);
    for (const field of fields) expect(evaluate(values({ flo: 50, [field]: 1000 }))).toEqual([`${field}-high`]);
    expect(evaluate(values())).toEqual(['flo-high']); // flo is 800 in the base values
  });

  test('returns every triggered rule, in rule order', () => {
    const rules: AlertRule[] = [
      { name: 'sed-high', field: 'sedPPM', op: '>=', threshold: 5 },
      { name: 'low-psi', field: 'psi', op: '<', threshold: 5 },
      { name: 'stopped', field: 'hz', op: '<=', threshold: 0 },
      { name: 'chl-low', field: 'chlPPM', op: '<', threshold: 0.5 },
    ];
    const evaluate = compileRules(rules);
    expect(evaluate(values({ psi: 0, hz: 0 }))).toEqual(['low-psi', 'stopped']);
    expect(evaluate(values({ psi: 0, hz: 0, sedPPM: 6, chlPPM: 0.1 }))).toEqual(['sed-high', 'low-psi', 'stopped', 'chl-low']);
    expect(evaluate(values({ chlPPM: 0.1, sedPPM: 5 }))).toEqual(['sed-high', 'chl-low']);
    expect(evaluate(values())).toEqual([]);
    const reversed = compileRules([...rules].reverse());
    expect(reversed(values({ psi: 0, hz: 0, sedPPM: 6, chlPPM: 0.1 }))).toEqual(['chl-low', 'stopped', 'low-psi', 'sed-high']);
  });

  test('two rules on the same field can both fire', () => {
    const evaluate = compileRules([
      { name: 'warn', field: 'psi', op: '<', threshold: 10 },
      { name: 'crit', field: 'psi', op: '<', threshold: 5 },
    ]);
    expect(evaluate(values({ psi: 7 }))).toEqual(['warn']);
    expect(evaluate(values({ psi: 2 }))).toEqual(['warn', 'crit']);
  });

  test('returns one shared frozen empty array when nothing triggers', () => {
    const evaluate = compileRules([
      { name: 'a', field: 'psi', op: '<', threshold: 5 },
      { name: 'b', field: 'hz', op: '>', threshold: 50 },
    ]);
    const first = evaluate(values());
    const second = evaluate(values({ psi: 6 }));
    expect(first).toBe(second);
    expect(Object.isFrozen(first)).toBe(true);
    expect(compileRules([])(values({ psi: 0 }))).toEqual([]);
    expect(compileRules(DEFAULT_ALERT_RULES)(values())).toBe(first);
  });

  test('returns fresh arrays for multiple triggered rules', () => {
    const evaluate = compileRules([
      { name: 'a', field: 'psi', op: '<', threshold: 5 },
      { name: 'b', field: 'hz', op: '<', threshold: 5 },
    ]);
    const first = evaluate(values({ psi: 0 }));
    const second = evaluate(values({ psi: 0, hz: 0 }));
    expect(first).toEqual(['a']);
    expect(second).toEqual(['a', 'b']);
  });

  test('a NaN measure triggers nothing', () => {
    const evaluate = compileRules([
      { name: 'low', field: 'psi', op: '<', threshold: 5 },
      { name: 'high', field: 'psi', op: '>=', threshold: 5 },
    ]);
    expect(evaluate(values({ psi: Number.NaN }))).toEqual([]);
  });

  test.each([
    [{ name: 'x', field: 'pressure', op: '<', threshold: 5 }, /alert rule x: field must be one of hz, disp, flo, sedPPM, psi, chlPPM, got "pressure"/],
    [{ name: 'x', field: 'psi', op: '==', threshold: 5 }, /alert rule x: op must be one of < <= > >=, got "=="/],
    [{ name: 'x', field: 'psi', op: '<', threshold: Number.NaN }, /alert rule x: threshold must be a finite number, got NaN/],
    [{ name: 'x', field: 'psi', op: '<', threshold: '5' }, /threshold must be a finite number/],
    [{ name: '', field: 'psi', op: '<', threshold: 5 }, /alert rule 0: name must be a non-empty string/],
    [{ field: 'psi', op: '<', threshold: 5 }, /^alert rule 0: name must be a non-empty string$/],
    [{ name: 7, field: 'psi', op: '<', threshold: 5 }, /^alert rule 0: name must be a non-empty string$/],
    [null, /^alert rule 0: name must be a non-empty string$/],
  ])('rejects the malformed rule %j', (rule, message) => {
    expect(() => compileRules([rule as unknown as AlertRule])).toThrow(WellwatchError);
    expect(() => compileRules([rule as unknown as AlertRule])).toThrow(message);
  });
});
