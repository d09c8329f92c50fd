import { addDays, daySpan, eachDay, isDay, requireDay, timeBound, utcDay } from '../../../lambdas/store/days';

describe('days', () => {
  it('accepts real calendar days only', () => {
    expect(isDay('2016-02-29')).toBe(true);
    expect(isDay('2014-02-29')).toBe(false);
    expect(isDay('2014-02-30')).toBe(false);
    expect(isDay('2014-13-01')).toBe(false);
    expect(isDay('2014-3-10')).toBe(false);
    expect(isDay('2014-03-10T00:00:00Z')).toBe(false);
  });

  it("rejects 2014-02-30 naming the field and the value", () => {
    expect(() => requireDay('date', '2014-02-30')).toThrow('date must be a calendar day YYYY-MM-DD, got "2014-02-30"');
  });

  it('counts and walks days across month and leap-year ends', () => {
    expect(addDays('2016-02-28', 1)).toBe('2016-02-29');
    expect(addDays('2016-03-01', -1)).toBe('2016-02-29');
    expect(daySpan('2014-12-30', '2015-01-02')).toBe(4);
    expect(daySpan('2014-03-11', '2014-03-10')).toBe(0);
    expect([...eachDay('2014-12-30', '2015-01-02')]).toEqual(['2014-12-30', '2014-12-31', '2015-01-01', '2015-01-02']);
    expect(utcDay(new Date('2014-03-10T23:59:59.999Z'))).toBe('2014-03-10');
  });

  it('resolves day bounds to whole days and timestamps to UTC seconds, rounding inwards', () => {
    expect(timeBound('from', '2014-03-10')).toEqual({ day: '2014-03-10', time: '00:00:00', ts: '2014-03-10T00:00:00Z' });
    expect(timeBound('to', '2014-03-10')).toEqual({ day: '2014-03-10', time: '23:59:59', ts: '2014-03-10T23:59:59Z' });
    expect(timeBound('from', '2014-03-10T01:00:30+02:00').ts).toBe('2014-03-09T23:00:30Z');
    expect(timeBound('from', '2014-03-10T05:00:00.2Z').ts).toBe('2014-03-10T05:00:01Z');
    expect(timeBound('to', '2014-03-10T05:00:00.8Z').ts).toBe('2014-03-10T05:00:00Z');
    expect(timeBound('to', '2014-03-10T05:07').ts).toBe('2014-03-10T05:07:00Z');
    expect(() => timeBound('from', 'yesterday')).toThrow(/from must be a day YYYY-MM-DD or a timestamp/);
    expect(() => timeBound('to', '2014-02-30T00:00:00Z')).toThrow(/to must be/);
  });

  it('accepts only a whole YYYY-MM-DD, nothing before or after it', () => {
    expect(isDay('x2014-03-10')).toBe(false);
    expect(isDay('2014-03-10x')).toBe(false);
    expect(isDay('2014-00-10')).toBe(false);
    expect(isDay('2014-03-00')).toBe(false);
    expect(isDay('2014-12-31')).toBe(true);
    expect(isDay('2014-01-01')).toBe(true);
  });

  it('accepts the days of the years 0000 to 0099 like any other (not as 1900 to 1999)', () => {
    expect(isDay('0050-03-10')).toBe(true);
    expect(isDay('0000-02-29')).toBe(true); // year 0 is a leap year, 1900 is not
    expect(isDay('0099-12-31')).toBe(true);
    expect(isDay('0100-02-29')).toBe(false);
    expect(requireDay('date', '0001-01-01')).toBe('0001-01-01');
  });

  it('reads a timestamp without a zone as UTC even where the runtime reads it as local time', () => {
    // Jest's process.env.TZ does not reach the clock, so stand in for a runtime at +05:30: a zoneless string is local.
    const parse = Date.parse;
    const spy = jest.spyOn(Date, 'parse').mockImplementation((text) => (/(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) ? parse(text) : parse(`${text}+05:30`)));
    try {
      expect(timeBound('from', '2014-03-10T05:00:00').ts).toBe('2014-03-10T05:00:00Z');
      expect(timeBound('to', '2014-03-10 05:07:30.5z').ts).toBe('2014-03-10T05:07:30Z');
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects a day that is not a string, naming the field', () => {
    expect(() => requireDay('date', 20140310)).toThrow('date must be a calendar day YYYY-MM-DD, got 20140310');
    expect(requireDay('date', '2014-03-10')).toBe('2014-03-10');
  });

  it('reads every accepted timestamp spelling: space or T, lowercase z, offsets with or without a colon, no zone', () => {
    expect(timeBound('from', '2014-03-10 05:00:00Z').ts).toBe('2014-03-10T05:00:00Z');
    expect(timeBound('from', '2014-03-10T05:00:00z').ts).toBe('2014-03-10T05:00:00Z');
    expect(timeBound('from', '2014-03-10T05:00:00')).toEqual({ day: '2014-03-10', time: '05:00:00', ts: '2014-03-10T05:00:00Z' });
    expect(timeBound('from', '2014-03-10T05:00:00+0530').ts).toBe('2014-03-09T23:30:00Z');
    expect(timeBound('to', '2014-03-10T23:00:00-05:00')).toEqual({ day: '2014-03-11', time: '04:00:00', ts: '2014-03-11T04:00:00Z' });
    expect(timeBound('to', '2014-03-10T05:00:00.999+00:00').ts).toBe('2014-03-10T05:00:00Z');
    expect(timeBound('from', '2014-03-10T05:00:00.000Z').ts).toBe('2014-03-10T05:00:00Z');
  });

  it('rejects timestamps with anything before or after them, or without minutes', () => {
    for (const bad of ['x2014-03-10T05:00:00Z', '2014-03-10T05:00:00Zx', '2014-03-10T05', '2014-03-10T05:00:00+05']) {
      expect(() => timeBound('from', bad)).toThrow(`from must be a day YYYY-MM-DD or a timestamp like 2014-03-10T05:00:00Z, got ${JSON.stringify(bad)}`);
    }
  });

  it('tags its errors with the code of what was wrong: day or time-bound', () => {
    expect(() => requireDay('date', '2014-02-30')).toThrow(expect.objectContaining({ code: 'day' }));
    expect(() => timeBound('to', 'soon')).toThrow(expect.objectContaining({ code: 'time-bound' }));
  });
});

