/**
 * The runner's failure policy as a table, one row per documented statement of Lambda's Kinesis event source mapping
 * (the statements are quoted in local/event-source/failure-policy.ts).
 */
import { decide, expiredCount, readBatchResponse, retryDelay, type FailureDecision, type InvocationOutcome, type PolicySettings } from '../../../local/event-source/failure-policy';

const bisecting: PolicySettings = { bisectBatchOnError: true, retryAttempts: 2 };
const whole: PolicySettings = { bisectBatchOnError: false, retryAttempts: 2 };
const forever: PolicySettings = { bisectBatchOnError: false, retryAttempts: -1 };
const ok: InvocationOutcome = { kind: 'success' };
const threw: InvocationOutcome = { kind: 'error', error: 'Error: boom' };
const partialAt = (failedAt: number): InvocationOutcome => ({ kind: 'partial', failedAt, error: 'reported' });

describe('decide', () => {
  it.each<[string, InvocationOutcome, { batchSize: number; attempts: number }, PolicySettings, FailureDecision]>([
    ['a success completes the batch', ok, { batchSize: 10, attempts: 0 }, bisecting, { action: 'complete' }],
    ['a success after retries completes it too', ok, { batchSize: 3, attempts: 2 }, whole, { action: 'complete' }],
    // "the batch is bisected at the returned sequence number and Lambda retries only the remaining records"
    ['a partial failure checkpoints before it and retries only the rest, without halving', partialAt(3), { batchSize: 10, attempts: 0 }, bisecting,
      { action: 'retry', complete: 3, retry: 7, attempts: 1 }],
    ['a partial failure after progress restarts the retry count of the rest', partialAt(9), { batchSize: 10, attempts: 2 }, whole,
      { action: 'retry', complete: 9, retry: 1, attempts: 1 }],
    // Bisecting at the first record leaves the batch whole: only a function error halves it.
    ['a partial failure at the first record retries the whole batch, never halves it', partialAt(0), { batchSize: 8, attempts: 0 }, bisecting,
      { action: 'retry', complete: 0, retry: 8, attempts: 1 }],
    ['a partial failure at the first record counts towards the retry quota', partialAt(0), { batchSize: 8, attempts: 2 }, bisecting,
      { action: 'discard', condition: 'RetryAttemptsExhausted' }],
    // "If your invocation fails and BisectBatchOnFunctionError is turned on, the batch is bisected"
    ['a function error bisects (first half rounded up)', threw, { batchSize: 7, attempts: 0 }, bisecting, { action: 'bisect', halves: [4, 3] }],
    // "Splitting a batch does not count towards the retry quota."
    ['bisecting ignores the retries already made', threw, { batchSize: 2, attempts: 2 }, bisecting, { action: 'bisect', halves: [1, 1] }],
    ['a single record cannot be bisected: it is retried', threw, { batchSize: 1, attempts: 0 }, bisecting, { action: 'retry', complete: 0, retry: 1, attempts: 1 }],
    ['without bisection a function error retries the whole batch', threw, { batchSize: 5, attempts: 1 }, whole, { action: 'retry', complete: 0, retry: 5, attempts: 2 }],
    // "Lambda retries until the records expire, exceed the maximum age, or reach the configured retry quota"
    ['after retryAttempts retries the batch is discarded', threw, { batchSize: 5, attempts: 2 }, whole, { action: 'discard', condition: 'RetryAttemptsExhausted' }],
    ['retryAttempts 0 discards at the first failure', threw, { batchSize: 1, attempts: 0 }, { bisectBatchOnError: false, retryAttempts: 0 },
      { action: 'discard', condition: 'RetryAttemptsExhausted' }],
    // "The default value is infinite (-1). When set to infinite (-1), failed records are retried until the record expires."
    ['retryAttempts -1 retries forever', threw, { batchSize: 5, attempts: 10_000 }, forever, { action: 'retry', complete: 0, retry: 5, attempts: 10_001 }],
  ])('%s', (_, outcome, shard, settings, expected) => {
    expect(decide(outcome, shard, settings)).toEqual(expected);
  });
});

describe('readBatchResponse', () => {
  const seqs = ['100', '200', '300', '400'];
  it.each<[string, unknown, boolean, InvocationOutcome['kind'], number | undefined]>([
    // "an empty batchItemFailure list, a null batchItemFailure list, an empty EventResponse, a null EventResponse"
    ['an empty list is a success', { batchItemFailures: [] }, true, 'success', undefined],
    ['a null list is a success', { batchItemFailures: null }, true, 'success', undefined],
    ['an empty response is a success', {}, true, 'success', undefined],
    ['no response is a success', undefined, true, 'success', undefined],
    // "these responses will not be processed by Lambda unless the ReportBatchItemFailures feature is turned on"
    ['failures are ignored without ReportBatchItemFailures', { batchItemFailures: [{ itemIdentifier: '300' }] }, false, 'success', undefined],
    ['one failure names its index', { batchItemFailures: [{ itemIdentifier: '300' }] }, true, 'partial', 2],
    // "Lambda uses the record with the lowest sequence number as the checkpoint"
    ['several failures: the lowest sequence number wins, whatever the order', { batchItemFailures: [{ itemIdentifier: '400' }, { itemIdentifier: '200' }, { itemIdentifier: '300' }] }, true, 'partial', 1],
    // "an empty string itemIdentifier, a null itemIdentifier, an itemIdentifier with a bad key name"
    ['an empty identifier fails the whole batch', { batchItemFailures: [{ itemIdentifier: '' }] }, true, 'error', undefined],
    ['a null identifier fails the whole batch', { batchItemFailures: [{ itemIdentifier: null }] }, true, 'error', undefined],
    ['a bad key name fails the whole batch', { batchItemFailures: [{ itemId: '200' }] }, true, 'error', undefined],
    ['an identifier of another batch fails the whole batch', { batchItemFailures: [{ itemIdentifier: '200' }, { itemIdentifier: '999' }] }, true, 'error', undefined],
  ])('%s', (_, response, report, kind, failedAt) => {
    const outcome = readBatchResponse(response, seqs, report);
    expect(outcome.kind).toBe(kind);
    if (failedAt !== undefined) expect(outcome).toMatchObject({ failedAt });
  });
});

describe('expiredCount', () => {
  const now = Date.UTC(2026, 0, 1, 12);
  const minute = 60_000;
  it('reads maxRecordAgeSeconds as seconds: records minutes old are young against an hour', () => {
    expect(expiredCount([now - 30 * minute, now - 10 * minute, now - minute], now, 3_600)).toBe(0);
  });

  it('counts the leading records older than the age, and stops at the first young one', () => {
    expect(expiredCount([now - 90 * minute, now - 61 * minute, now - 59 * minute, now - 120 * minute], now, 3_600)).toBe(2);
  });

  it('treats -1 as infinite', () => {
    expect(expiredCount([now - 7 * 24 * 60 * minute], now, -1)).toBe(0);
  });
});

describe('retryDelay', () => {
  it('doubles from the base per attempt up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((a) => retryDelay(a, 100, 1_000))).toEqual([100, 200, 400, 800, 1_000]);
  });
});
