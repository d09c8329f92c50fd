/**
 * One error hierarchy: every error wellwatch throws on purpose is a WellwatchError (configuration mistakes and
 * broken invariants included), and one helper describes any error in one line.
 */
import { inspect } from 'node:util';
import { ConfigError as ConfigErrorFromConfig, loadConfig } from '../../../lambdas/config';
import {
  ConfigError,
  describeError,
  InternalError,
  isWellwatchError,
  ParseError,
  RecordDecodeError,
  WellwatchError,
  WriteError,
} from '../../../lambdas/core/errors';

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

  it('recognises a wellwatch error created by a second copy of the module (a bundle, a jest registry)', () => {
    let other: typeof import('../../../lambdas/core/errors') | undefined;
    jest.isolateModules(() => {
      other = require('../../../lambdas/core/errors') as typeof import('../../../lambdas/core/errors');
    });
    const foreign = new other!.WriteError('2 items not written', { table: 't' });
    expect(foreign).not.toBeInstanceOf(WellwatchError);
    expect(isWellwatchError(foreign)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'WellwatchError'],
    ['a number', 0],
  ])('answers false for %s without throwing', (_what, value) => {
    expect(isWellwatchError(value)).toBe(false);
  });

  it('names each error by its class', () => {
    expect(new WellwatchError('x').name).toBe('WellwatchError');
    expect(String(new WellwatchError('cannot read x.csv'))).toBe('WellwatchError: cannot read x.csv');
    expect(describeError(new WriteError('3 items not written', { table: 'wellwatch-readings' }))).toBe('WriteError: 3 items not written');
    expect(describeError(new RecordDecodeError('KPL checksum mismatch', { shardId: 's' }))).toBe('RecordDecodeError: KPL checksum mismatch');
  });

  it('carries the context each error was given', () => {
    expect(new WriteError('x', { table: 'wellwatch-readings', failedCount: 3, attempts: 8 })).toMatchObject({ table: 'wellwatch-readings', failedCount: 3, attempts: 8 });
    expect(new RecordDecodeError('x', { shardId: 's', sequenceNumber: '1', partitionKey: 'A' })).toMatchObject({ shardId: 's', sequenceNumber: '1', partitionKey: 'A' });
  });

  it('keeps the underlying error as the cause', () => {
    const inner = new Error('ProvisionedThroughputExceededException');
    expect(new WriteError('3 items not written', { cause: inner }).cause).toBe(inner);
    expect(new ParseError('bad offset', { cause: 'text' }).cause).toBe('text');
  });

  it('logs no cause and no brand for an error without a cause', () => {
    const e = new ParseError('bad offset');
    expect('cause' in e).toBe(false);
    const logged = inspect(e);
    expect(logged).not.toContain('[cause]');
    expect(logged).not.toContain('wellwatch.error');
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
    ['null', null, 'null'],
    ['a thrown object with a name and no message by its name', { name: 'AbortError' }, 'AbortError'],
    ['a thrown object with a code and a non-string message by its code', { code: 'E_LIMIT', message: 42 }, 'E_LIMIT'],
  ])('describes %s', (_what, error, expected) => {
    expect(describeError(error)).toBe(expected);
  });
});
