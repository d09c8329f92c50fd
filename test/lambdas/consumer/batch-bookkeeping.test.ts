/**
 * The consumer's batch bookkeeping, without I/O: which record each reading and letter came from, the pump-days of
 * the stored readings, and the record a batch fails from.
 */
import { BatchNoProgressError, batchResponse, firstFailedRecord } from '../../../lambdas/consumer/batch-response';
import { decodeBatch, shardOf } from '../../../lambdas/consumer/decode-batch';
import { groupPumpDays } from '../../../lambdas/consumer/pump-days';
import { storedInOrder } from '../../../lambdas/consumer/handler';
import { DEFAULT_ALERT_RULES } from '../../../lambdas/config';
import { aggregate } from '../../../lambdas/core/kpl';
import { compileRules } from '../../../lambdas/core/rules';
import type { EvaluatedReading } from '../../../lambdas/core/types';
import { kinesisEvent } from '../../helpers/kinesis-event';

const ctx = { parse: { utcOffsetMinutes: 0 }, rules: compileRules(DEFAULT_ALERT_RULES), now: new Date('2014-03-10T12:00:00Z') };
const line = (pump: string, minute: number) => `${pump},3/10/14,0:${String(minute).padStart(2, '0')},10.27,1.73,881,1.56,50,1.94`;

describe('decodeBatch', () => {
  it('maps every reading of a KPL record to that record, and letters to theirs', () => {
    const kpl = aggregate([
      { partitionKey: 'A', data: Buffer.from([line('A', 1), line('A', 2)].join('\n')) },
      { partitionKey: 'B', data: Buffer.from([line('B', 3), 'garbage'].join('\n')) },
    ]);
    const event = kinesisEvent([{ data: line('C', 0) }, { data: kpl }, { data: 'not,a,reading' }, { data: line('D', 4) }]);
    event.Records[2]!.kinesis.data = '%%%%'; // not base64
    const batch = decodeBatch(event.Records, ctx);
    expect(batch.readings.map((r) => r.pump)).toEqual(['C', 'A', 'A', 'B', 'D']);
    expect(batch.origin).toEqual([0, 1, 1, 1, 3]);
    expect(batch.letters.map((l) => l.code)).toEqual(['field-count', 'encoding']);
    expect(batch.letterOrigin).toEqual([1, 2]);
    expect(batch.letters[0]!.sequenceNumber).toBe(event.Records[1]!.kinesis.sequenceNumber);
    expect(batch.letters[0]!.shardId).toBe('shardId-000000000000');
  });

  it('reads the shard id from eventID', () => {
    expect(shardOf('shardId-000000000007:4959')).toBe('shardId-000000000007');
    expect(shardOf('no-colon')).toBe('no-colon');
    expect(shardOf(undefined)).toBeUndefined();
  });
});

describe('groupPumpDays', () => {
  const reading = (pump: string, day: string): EvaluatedReading => ({ pump, day, time: '00:00:00', ts: `${day}T00:00:00Z`, values: {} as never, alerts: [] });

  it('groups stored readings by pump-day, each with the lowest record touching it', () => {
    const readings = [reading('A', 'd1'), reading('B', 'd1'), reading('A', 'd1'), reading('A', 'd2'), reading('B', 'd1')];
    const origin = [3, 4, 1, 2, 0];
    const { pumpDays, firstRecordOf } = groupPumpDays(readings, origin, new Set());
    expect(pumpDays).toEqual([{ pump: 'A', day: 'd1' }, { pump: 'B', day: 'd1' }, { pump: 'A', day: 'd2' }]);
    expect(firstRecordOf).toEqual([1, 0, 2]);
  });

  it('leaves out unwritten readings: a pump-day with nothing stored gets no marker', () => {
    const readings = [reading('A', 'd1'), reading('B', 'd1'), reading('A', 'd1')];
    const { pumpDays, firstRecordOf } = groupPumpDays(readings, [0, 1, 2], new Set([0, 1]));
    expect(pumpDays).toEqual([{ pump: 'A', day: 'd1' }]);
    expect(firstRecordOf).toEqual([2]);
  });
});

describe('firstFailedRecord', () => {
  it('is undefined when nothing failed', () => {
    expect(firstFailedRecord([{ failed: [], recordOf: [0, 1] }, { failed: [], recordOf: [] }])).toBeUndefined();
  });

  it('maps a failed reading through its record, not its own index (the 3rd reading of record 0 → record 0)', () => {
    expect(firstFailedRecord([{ failed: [2], recordOf: [0, 0, 0, 1, 2] }])).toBe(0);
  });

  it('takes the lowest record across readings, letters and markers, whatever the order of the kinds', () => {
    const readingAt5 = { failed: [6], recordOf: [0, 1, 2, 3, 4, 4, 5] };
    const markerAt1 = { failed: [1], recordOf: [0, 1] };
    const letterAt3 = { failed: [0], recordOf: [3] };
    expect(firstFailedRecord([readingAt5, letterAt3, markerAt1])).toBe(1);
    expect(firstFailedRecord([markerAt1, readingAt5, letterAt3])).toBe(1);
    expect(firstFailedRecord([letterAt3, readingAt5])).toBe(3);
  });

  it('refuses an index without a record (a bookkeeping bug) instead of guessing', () => {
    expect(() => firstFailedRecord([{ failed: [9], recordOf: [0] }])).toThrow(/failed index 9 has no record/);
  });
});

describe('batchResponse', () => {
  const { Records } = kinesisEvent([{ data: 'a' }, { data: 'b' }, { data: 'c' }]);

  it('answers an empty list when everything was handled', () => {
    expect(batchResponse(Records, undefined, '')).toEqual({ batchItemFailures: [] });
  });

  it('names the first failed record after progress', () => {
    expect(batchResponse(Records, 2, 'x')).toEqual({ batchItemFailures: [{ itemIdentifier: Records[2]!.kinesis.sequenceNumber }] });
  });

  it('throws when the first record failed, as Powertools throws FullBatchFailureError', () => {
    expect(() => batchResponse(Records, 0, '2 reading(s) not written')).toThrow(BatchNoProgressError);
    expect(() => batchResponse(Records, 0, '2 reading(s) not written')).toThrow(/first record .* failed \(2 reading\(s\) not written\)/);
  });
});

describe('storedInOrder (what the alarm step may evaluate)', () => {
  const r = (pump: string, n: number) => ({ pump, n });
  it('keeps every reading when all were written', () => {
    expect(storedInOrder([r('A', 1), r('B', 1)], [])).toEqual([r('A', 1), r('B', 1)]);
  });
  it("drops a pump's first unwritten reading and every later one of that pump, but not other pumps' readings", () => {
    const batch = [r('A', 1), r('B', 1), r('A', 2), r('B', 2), r('A', 3), r('B', 3)];
    expect(storedInOrder(batch, [4, 2])).toEqual([r('A', 1), r('B', 1), r('B', 2), r('B', 3)]);
  });
  it("cuts a pump at its first unwritten reading whatever the order of the failed indexes (the writers report them ascending)", () => {
    const batch = [r('A', 1), r('B', 1), r('A', 2), r('B', 2), r('A', 3), r('B', 3)];
    expect(storedInOrder(batch, [2, 4])).toEqual([r('A', 1), r('B', 1), r('B', 2), r('B', 3)]);
    expect(storedInOrder(batch, [1, 2, 4])).toEqual([r('A', 1)]);
  });
});
