import { spawnSync } from 'node:child_process';
import { ConfigError, ENV } from '../../../lambdas/config';
import { resetV8TuningForTests, tuneV8, V8_FLAGS } from '../../../lambdas/runtime/v8-tuning';

describe('tuneV8', () => {
  afterEach(() => resetV8TuningForTests());

  test('turns allocation-site pretenuring off by default', () => {
    const set: string[] = [];
    expect(tuneV8({}, (f) => set.push(f))).toEqual(['--no-allocation-site-pretenuring']);
    expect(set).toEqual([...V8_FLAGS]);
  });

  test('leaves V8 alone when the environment says on', () => {
    const set: string[] = [];
    expect(tuneV8({ [ENV.v8Pretenuring]: ' ON ' }, (f) => set.push(f))).toEqual([]);
    expect(set).toEqual([]);
  });

  test('applies once: later calls return the first decision without setting flags again', () => {
    const set: string[] = [];
    tuneV8({}, (f) => set.push(f));
    expect(tuneV8({ [ENV.v8Pretenuring]: 'on' }, (f) => set.push(f))).toEqual(V8_FLAGS);
    expect(set).toHaveLength(1);
  });

  test('rejects other values with the variable name', () => {
    expect(() => tuneV8({ [ENV.v8Pretenuring]: 'maybe' }, () => undefined)).toThrow(ConfigError);
    expect(() => tuneV8({ [ENV.v8Pretenuring]: 'maybe' }, () => undefined)).toThrow(/WELLWATCH_V8_PRETENURING must be "on".*"maybe"/);
  });

  test('every flag is one this V8 knows (setFlagsFromString ignores unknown flags silently)', () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    for (const flag of V8_FLAGS) expect(options).toContain(flag.replace(/^--no-/, '--'));
  });
});
