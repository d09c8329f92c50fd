/**
 * The status of a pump in `GET /pumps` and on the dashboard: one word from its alarms, its out-of-service mark and
 * its latest reading.
 *
 * Pure, so the rule reads in one place: what needs an operator most wins.
 */
import type { AlarmKind } from './alarm-rules';
import type { AlarmStateName } from './alarm-state';

/** Statuses, most urgent first. */
export const PUMP_STATUSES = ['out-of-service', 'alarm', 'no-data', 'early-warning', 'alert', 'ok'] as const;
export type PumpStatus = (typeof PUMP_STATUSES)[number];

/** What the status is decided from. */
export interface PumpStatusInput {
  /** An out-of-service mark is in force. */
  readonly outOfService: boolean;
  /** The pump's open alarms with their listed state. */
  readonly openAlarms: readonly { readonly kind: AlarmKind; readonly state: AlarmStateName }[];
  /** The latest reading is missing or older than the staleness window. */
  readonly stale: boolean;
  /** The latest reading breaks an alert rule. */
  readonly alerting: boolean;
}

/**
 * The pump's status: `out-of-service` while marked; `alarm` with an ACTIVE or LATCHED alarm of any other kind (threshold); `no-data` with
 * an open no-data alarm or a stale latest reading; `early-warning` with an open early-warning alarm; `alert` when
 * the latest reading alerts; else `ok`. Shelved alarms are suppressed on purpose and do not colour the pump.
 *
 * @example
 * pumpStatus({ outOfService: false, openAlarms: [{ kind: 'threshold', state: 'ACTIVE' }], stale: false, alerting: true }); // → 'alarm'
 */
export function pumpStatus(input: PumpStatusInput): PumpStatus {
  if (input.outOfService) return 'out-of-service';
  const live = input.openAlarms.filter((a) => a.state === 'ACTIVE' || a.state === 'LATCHED');
  if (live.some((a) => a.kind !== 'no-data' && a.kind !== 'early-warning')) return 'alarm';
  if (input.stale || live.some((a) => a.kind === 'no-data')) return 'no-data';
  if (live.some((a) => a.kind === 'early-warning')) return 'early-warning';
  return input.alerting ? 'alert' : 'ok';
}
