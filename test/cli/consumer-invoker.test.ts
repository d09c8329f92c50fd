import { firstFailedIndex } from '../../cli/consumer-invoker';
import { parseTimeFlag } from '../../cli/replay';

describe('firstFailedIndex (Lambda partial batch response rules)', () => {
  const seqs = ['5', '6', '7', '8'];

  it.each([[undefined], [null], [{}], [{ batchItemFailures: [] }], [{ batchItemFailures: null }]])('treats %j as a complete success', (response) => {
    expect(firstFailedIndex(response, seqs)).toEqual({});
  });

  it('resumes from the lowest reported record', () => {
    expect(firstFailedIndex({ batchItemFailures: [{ itemIdentifier: '8' }, { itemIdentifier: '6' }] }, seqs).failedAt).toBe(1);
  });

  it.each([[''], [null], ['99']])('fails the whole batch for the identifier %j', (id) => {
    expect(firstFailedIndex({ batchItemFailures: [{ itemIdentifier: id }] }, seqs).failedAt).toBe(0);
  });
});

describe('parseTimeFlag', () => {
  it('reads a day as 00:00 UTC and a timestamp as given', () => {
    expect(parseTimeFlag('from', '2026-11-30')?.toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(parseTimeFlag('to', '2026-11-30T10:15Z')?.toISOString()).toBe('2026-11-30T10:15:00.000Z');
  });

  it('refuses anything else naming the flag', () => {
    expect(() => parseTimeFlag('from', 'yesterday')).toThrow('--from must be YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, got "yesterday"');
    expect(() => parseTimeFlag('to', '2026-02-30T00:00Z')).toThrow(/--to/);
  });
});
