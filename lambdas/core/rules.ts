/**
 * Compiles alert rules (data such as `psi < 5`) into one fast function evaluated on every reading.
 */
import { WellwatchError } from './errors';
import { MEASURES, RULE_OPS, type AlertRule, type Measure, type MeasureValues } from './types';

/** Evaluates compiled rules against the measures of one reading; returns the names triggered, in rule order. */
export type CompiledRules = (values: MeasureValues) => string[];

/** Shared result when no rule triggers: frozen, so a caller mutating it fails loudly instead of corrupting others. */
const NONE: string[] = Object.freeze([]) as unknown as string[];

type Predicate = (values: MeasureValues) => boolean;

function predicate(field: Measure, op: AlertRule['op'], threshold: number): Predicate {
  switch (op) {
    case '<':
      return (v) => v[field] < threshold;
    case '<=':
      return (v) => v[field] <= threshold;
    case '>':
      return (v) => v[field] > threshold;
    case '>=':
      return (v) => v[field] >= threshold;
  }
}

/**
 * Compiles alert rules into a function returning the names of the rules a reading triggers.
 *
 * Rules are validated once here (field, operator, finite threshold), so evaluation is a few comparisons with no
 * checks. The result lists triggered rule names in the order the rules were given; when none triggers it is a
 * shared, frozen empty array (no allocation for the common case) — do not mutate results.
 * A NaN measure triggers nothing (every comparison with NaN is false).
 *
 * @throws WellwatchError naming the rule when a rule is malformed.
 *
 * @example
 * const evaluate = compileRules([{ name: 'low-psi', field: 'psi', op: '<', threshold: 5 }]);
 * evaluate({ hz: 0, disp: 0, flo: 0, sedPPM: 0, psi: 0, chlPPM: 1 }); // → ['low-psi']
 */
export function compileRules(rules: readonly AlertRule[]): CompiledRules {
  const names: string[] = [];
  const predicates: Predicate[] = [];
  rules.forEach((rule, i) => {
    const label = typeof rule?.name === 'string' && rule.name !== '' ? `alert rule ${rule.name}` : `alert rule ${i}`;
    if (typeof rule?.name !== 'string' || rule.name === '') throw new WellwatchError(`${label}: name must be a non-empty string`);
    if (!(MEASURES as readonly string[]).includes(rule.field)) {
      throw new WellwatchError(`${label}: field must be one of ${MEASURES.join(', ')}, got ${JSON.stringify(rule.field)}`);
    }
    if (!(RULE_OPS as readonly string[]).includes(rule.op)) {
      throw new WellwatchError(`${label}: op must be one of ${RULE_OPS.join(' ')}, got ${JSON.stringify(rule.op)}`);
    }
    if (typeof rule.threshold !== 'number' || !Number.isFinite(rule.threshold)) {
      throw new WellwatchError(`${label}: threshold must be a finite number, got ${String(rule.threshold)}`);
    }
    names.push(rule.name);
    predicates.push(predicate(rule.field, rule.op, rule.threshold));
  });

  if (predicates.length === 0) return () => NONE;
  if (predicates.length === 1) {
    // The common deployment (the seed's single low-psi rule): no loop, and one array per alert.
    const only = predicates[0];
    const hit = Object.freeze([names[0]]) as unknown as string[];
    return (values) => (only(values) ? hit : NONE);
  }
  const count = predicates.length;
  return (values) => {
    let out: string[] | undefined;
    for (let i = 0; i < count; i++) {
      if (predicates[i](values)) (out ??= []).push(names[i]);
    }
    return out ?? NONE;
  };
}
