/**
 * One error hierarchy: every error wellwatch throws on purpose is a WellwatchError (configuration mistakes and
 * broken invariants included), and one helper describes any error in one line.
 */
import { ConfigError as ConfigErrorFromConfig, loadConfig } from '../../../lambdas/config';
import { ConfigError, describeError, InternalError, isWellwatchError, ParseError, WellwatchError } from '../../../lambdas/core/errors';

describe('the error hierarchy', () => {
  it('makes a configuration mistake a WellwatchError the type guard recognises', () => {
    let caught: unknown;
    try {
      loadConfig({}, { WELLWATCH_RETENTION_DAYS: '-1' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toBeInstanceOf(WellwatchError);
    expect(isWellwatchError(caught)).toBe(true);
    expect((caught as Error).name).toBe('ConfigError');
  });

  it('exports the same ConfigError from the config module and the errors module', () => {
    expect(ConfigErrorFromConfig).toBe(ConfigError);
  });

  it('makes a broken invariant an InternalError, still a WellwatchError', () => {
    const e = new InternalError('record of A acknowledged out of order');
    expect(isWellwatchError(e)).toBe(true);
    expect(e.name).toBe('InternalError');
  });

  it('does not take a plain Error for a WellwatchError', () => {
    expect(isWellwatchError(new Error('x'))).toBe(false);
    expect(isWellwatchError({ name: 'WellwatchError', message: 'x' })).toBe(false);
  });
});

describe('describeError', () => {
  it.each<[string, unknown, string]>([
    ['an SDK exception by name', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }), 'ThrottlingException: Rate exceeded'],
    ['a system error by code, not repeating a code the message holds', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'connect ECONNREFUSED 127.0.0.1:1'],
    ['a system error whose message lacks the code', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'ECONNRESET: socket hang up'],
    ['a plain Error by its message alone', new Error('something broke'), 'something broke'],
    ['a wellwatch error by its class and message', new ParseError('bad offset'), 'ParseError: bad offset'],
    ['a plain WellwatchError by its message alone', new WellwatchError('cannot read x.csv'), 'cannot read x.csv'],
    ['an error without a message by its name', Object.assign(new Error(''), { name: 'TimeoutError' }), 'TimeoutError'],
    ['a thrown string', 'just text', 'just text'],
    ['undefined', undefined, 'undefined'],
  ])('describes %s', (_what, error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});
