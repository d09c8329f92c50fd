import { ALARM_KEYS, KEYS } from '../../../lambdas/config';
import {
  alarmStateFromItem,
  alarmStateItem,
  archiveFromItem,
  archiveItem,
  inForce,
  pumpBucket,
  pumpInfoFromItem,
} from '../../../lambdas/core/alarm-keys';
import { emptyAlarmState, type AlarmEpisode, type AlarmState } from '../../../lambdas/core/alarm-state';

const OPEN = ALARM_KEYS.openAlarms;
const HISTORY = ALARM_KEYS.alarmHistory;

function episode(raisedTime: string, closed = false): AlarmEpisode {
  return {
    id: `P7.low-psi.${raisedTime.replace(/[-:]/g, '')}`,
    pump: 'P7',
    rule: 'low-psi',
    kind: 'threshold',
    severity: 'critical',
    condition: closed ? 'CLEARED' : 'ACTIVE',
    acknowledged: false,
    latch: false,
    firstTime: raisedTime,
    raisedTime,
    lastTime: raisedTime,
    count: 3,
    worstValue: 1.5,
    lastValue: 2,
    closed,
    trail: [{ at: raisedTime, action: 'raised' }],
  };
}

describe('alarm state items', () => {
  it('index a state with an open alarm under its bucket and the alarm raised time, pump and rule', () => {
    const state: AlarmState = { ...emptyAlarmState('P7', 'low-psi', 'threshold'), alarm: episode('2026-11-01T10:00:00Z'), transitions: 1 };
    const item = alarmStateItem(state, 4, 16);
    expect(item[OPEN.partitionKey]).toEqual({ S: `${OPEN.prefix}${pumpBucket('P7', 16)}` });
    expect(item[OPEN.sortKey]).toEqual({ S: '2026-11-01T10:00:00Z#P7#low-psi' });
    expect(item.v).toEqual({ N: '4' });
    expect(alarmStateFromItem(item)).toEqual({ ...state, version: 4 });
  });

  it('index a state with no open alarm but a pending transition under the newest transition’s alarm', () => {
    const closedEarlier = episode('2026-11-01T08:00:00Z', true);
    const closedLater = episode('2026-11-01T09:00:00Z', true);
    const state: AlarmState = {
      ...emptyAlarmState('P7', 'low-psi', 'threshold'),
      outbox: [
        { id: `${closedEarlier.id}/2`, type: 'cleared', at: '2026-11-01T08:30:00Z', notify: true, alarm: closedEarlier },
        { id: `${closedLater.id}/2`, type: 'cleared', at: '2026-11-01T09:30:00Z', notify: true, alarm: closedLater },
      ],
    } as AlarmState;
    const item = alarmStateItem(state, 2, 16);
    expect(item[OPEN.partitionKey]).toEqual({ S: `${OPEN.prefix}${pumpBucket('P7', 16)}` });
    expect(item[OPEN.sortKey]).toEqual({ S: '2026-11-01T09:00:00Z#P7#low-psi' });
  });

  it('leave a quiet state (no alarm, nothing pending) out of the sparse open-alarms index', () => {
    const item = alarmStateItem(emptyAlarmState('P7', 'low-psi', 'threshold'), 1, 16);
    expect(Object.keys(item).sort()).toEqual([KEYS.partitionKey, KEYS.sortKey, 'st', 'v'].sort());
  });

  it('refuse to decode an item that is not a state item, naming its partition key', () => {
    expect(() => alarmStateFromItem({ [KEYS.partitionKey]: { S: 'P#P7' }, v: { N: '1' } })).toThrow('alarms table: "P#P7" is not a state item');
    expect(() => alarmStateFromItem({ [KEYS.partitionKey]: { S: 'P#P7' }, st: { S: '{}' } })).toThrow('alarms table: "P#P7" is not a state item');
    expect(() => alarmStateFromItem({})).toThrow('alarms table: undefined is not a state item');
  });
});

describe('archived alarm items', () => {
  it('round-trip and are indexed by bucket and raised time', () => {
    const ep = episode('2026-11-01T10:00:00Z', true);
    const item = archiveItem(ep, 8);
    expect(item[HISTORY.partitionKey]).toEqual({ S: `${HISTORY.prefix}${pumpBucket('P7', 8)}` });
    expect(item[HISTORY.sortKey]).toEqual({ S: '2026-11-01T10:00:00Z#P7#low-psi' });
    expect(archiveFromItem(item)).toEqual(ep);
  });

  it('refuse to decode an item without an episode', () => {
    expect(() => archiveFromItem({ v: { N: '1' } })).toThrow('alarms table: item is not an archived alarm');
  });
});

describe('pumpInfoFromItem', () => {
  it('decodes every field of a pump item', () => {
    const oos = { by: 'ana', at: '2026-11-01T00:00:00Z', until: '2026-11-02T00:00:00Z', note: 'rod change' };
    expect(
      pumpInfoFromItem({ [KEYS.sortKey]: { S: 'P7' }, ls: { S: '2026-11-01T10:00:00Z' }, nd: { S: 'P7.no-data.x' }, oos: { S: JSON.stringify(oos) }, ndm: { N: '45' } }),
    ).toStrictEqual({ pump: 'P7', lastSeen: '2026-11-01T10:00:00Z', noDataAlarm: 'P7.no-data.x', outOfService: oos, noDataMinutes: 45 });
  });

  it('leaves absent fields out (no keys holding undefined), and an item without a pump id decodes to pump ""', () => {
    const info = pumpInfoFromItem({});
    expect(info).toStrictEqual({ pump: '' });
    expect(Object.keys(info)).toEqual(['pump']);
  });
});

describe('inForce', () => {
  const at = '2026-11-01T00:00:00Z';
  it('is false with no out-of-service mark', () => expect(inForce(undefined, '2026-11-01T12:00:00Z')).toBe(false));
  it('is true for a mark without an end', () => expect(inForce({ by: 'ana', at }, '2030-01-01T00:00:00Z')).toBe(true));
  it('is true before its end, false from its end on', () => {
    const oos = { by: 'ana', at, until: '2026-11-02T00:00:00Z' };
    expect(inForce(oos, '2026-11-01T23:59:59Z')).toBe(true);
    expect(inForce(oos, '2026-11-02T00:00:00Z')).toBe(false);
    expect(inForce(oos, '2026-11-02T00:00:01Z')).toBe(false);
  });
});
