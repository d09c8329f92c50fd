import { pumpStatus, type PumpStatusInput } from '../../../lambdas/core/pump-status';

const calm: PumpStatusInput = { outOfService: false, openAlarms: [], stale: false, alerting: false };

describe('pumpStatus', () => {
  it.each<[string, Partial<PumpStatusInput>, string]>([
    ['a pump reporting normally is ok', {}, 'ok'],
    ['an alerting latest reading without an alarm is an alert', { alerting: true }, 'alert'],
    ['an early-warning alarm outranks an alert', { alerting: true, openAlarms: [{ kind: 'early-warning', state: 'ACTIVE' }] }, 'early-warning'],
    ['a stale latest reading is no-data', { stale: true, openAlarms: [{ kind: 'early-warning', state: 'ACTIVE' }] }, 'no-data'],
    ['an open no-data alarm is no-data', { openAlarms: [{ kind: 'no-data', state: 'ACTIVE' }] }, 'no-data'],
    ['an active threshold alarm is an alarm, even when stale', { stale: true, openAlarms: [{ kind: 'threshold', state: 'ACTIVE' }] }, 'alarm'],
    ['a latched threshold alarm is still an alarm', { openAlarms: [{ kind: 'threshold', state: 'LATCHED' }] }, 'alarm'],
    ['a shelved alarm does not colour the pump', { openAlarms: [{ kind: 'threshold', state: 'SHELVED' }] }, 'ok'],
    ['out of service outranks everything', { outOfService: true, stale: true, openAlarms: [{ kind: 'threshold', state: 'OUT_OF_SERVICE' }] }, 'out-of-service'],
  ])('%s', (_name, input, status) => {
    expect(pumpStatus({ ...calm, ...input })).toBe(status);
  });
});
