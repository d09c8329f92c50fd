/**
 * lambdas/config.ts: deployment names, and how loadConfig derives every resource name from them.
 */
import { ConfigError, deploymentNames, ENV, FLEET_KEYS, loadConfig, NAMES } from '../../lambdas/config';
import { DEFAULT_DETECTORS, DETECTOR_DEFAULTS, parseDetectorSpecs } from '../../lambdas/config';

describe('deploymentNames', () => {
  it('is NAMES for the default deployment', () => {
    const { metricNamespace: _, ...names } = NAMES;
    expect(deploymentNames()).toEqual(names);
    expect(deploymentNames('')).toEqual(names);
  });

  it('puts the deployment name after the service name in every physical name', () => {
    expect(deploymentNames('staging')).toEqual({
      deployment: 'staging',
      stackName: 'Wellwatch-staging',
      streamName: 'wellwatch-staging-readings',
      readingsTable: 'wellwatch-staging-readings',
      statsTable: 'wellwatch-staging-stats',
      catalogTable: 'wellwatch-staging-catalog',
      alarmsTable: 'wellwatch-staging-alarms',
      deadLetterQueue: 'wellwatch-staging-dead-letters',
      failedBatchQueue: 'wellwatch-staging-failed-batches',
      alarmTopic: 'wellwatch-staging-alarms',
      logGroupPrefix: '/wellwatch-staging',
      serviceName: 'wellwatch-staging',
      consumerFunction: 'wellwatch-staging-consumer',
    });
  });

  it.each(['Staging', 'a_b', '1st', '-x', 'a'.repeat(21), 'eu west'])('refuses %j', (name) => {
    expect(() => deploymentNames(name)).toThrow(ConfigError);
    expect(() => deploymentNames(name)).toThrow(`got ${JSON.stringify(name)}`);
  });

  it('accepts 1 to 20 characters of a-z, 0-9 and -', () => {
    expect(deploymentNames('a').deployment).toBe('a');
    expect(deploymentNames(`eu-west-1-${'x'.repeat(10)}`).streamName).toBe('wellwatch-eu-west-1-xxxxxxxxxx-readings');
  });
});

describe('loadConfig names', () => {
  it('takes the deployment from the environment, and explicit names still win', () => {
    const cfg = loadConfig({}, { [ENV.deployment]: 'dev' });
    expect(cfg).toMatchObject({
      deployment: 'dev',
      streamName: 'wellwatch-dev-readings',
      readingsTable: 'wellwatch-dev-readings',
      statsTable: 'wellwatch-dev-stats',
      catalogTable: 'wellwatch-dev-catalog',
    });
    expect(cfg.names.serviceName).toBe('wellwatch-dev');
    expect(loadConfig({ statsTable: 'mine' }, { [ENV.deployment]: 'dev', [ENV.readingsTable]: 'theirs' })).toMatchObject({
      readingsTable: 'theirs',
      statsTable: 'mine',
      catalogTable: 'wellwatch-dev-catalog',
    });
    expect(loadConfig({ deployment: 'prod' }, { [ENV.deployment]: 'dev' }).streamName).toBe('wellwatch-prod-readings');
  });

  it('has no deployment and the NAMES by default', () => {
    const cfg = loadConfig({}, {});
    expect(cfg.deployment).toBeUndefined();
    expect(cfg.readingsTable).toBe(NAMES.readingsTable);
    expect(cfg.names.serviceName).toBe(NAMES.serviceName);
  });

  it('fails on a malformed deployment name from the environment', () => {
    expect(() => loadConfig({}, { [ENV.deployment]: 'Prod!' })).toThrow('deployment name must be 1–20 characters');
  });
});

describe('alarm settings', () => {
  it('defaults to a 30-minute no-data interval and FLEET_KEYS.buckets buckets, read from the environment when set', () => {
    expect(loadConfig({}, {}).alarms).toMatchObject({ enabled: true, table: 'wellwatch-alarms', noDataMinutes: 30, buckets: FLEET_KEYS.buckets, lastSeenRefreshShare: 1 });
    expect(loadConfig({}, { WELLWATCH_NO_DATA_MINUTES: '45', WELLWATCH_ALARM_BUCKETS: '64', WELLWATCH_ALARMS: 'off' }).alarms).toMatchObject({ enabled: false, noDataMinutes: 45, buckets: 64 });
  });

  it('rejects a bad interval or bucket count with the setting, its range and the value', () => {
    expect(() => loadConfig({}, { WELLWATCH_NO_DATA_MINUTES: '0' })).toThrow('noDataMinutes must be an integer 1–10080, got "0"');
    expect(() => loadConfig({}, { WELLWATCH_ALARMS: 'maybe' })).toThrow('WELLWATCH_ALARMS must be on or off, got "maybe"');
  });

  it('keeps and validates the alarm fields of alert rules from JSON', () => {
    const json = '[{"name":"low-psi","field":"psi","op":"<","threshold":5,"clearThreshold":20,"forReadings":3,"severity":"critical","latch":true}]';
    expect(loadConfig({}, { WELLWATCH_ALERT_RULES: json }).alertRules[0]).toEqual({ name: 'low-psi', field: 'psi', op: '<', threshold: 5, clearThreshold: 20, forReadings: 3, severity: 'critical', latch: true });
    expect(() => loadConfig({}, { WELLWATCH_ALERT_RULES: '[{"name":"x","field":"psi","op":"<","threshold":5,"latch":"yes"}]' })).toThrow('alert rule x: latch must be true or false, got "yes"');
  });
});

describe('early-warning detectors config', () => {
  it('runs psi and hz on a flat baseline and disp on a daily one by default, all advisory', () => {
    const cfg = loadConfig({}, {});
    expect(cfg.detectors.map((d) => [d.measure, d.baseline, d.detectors.join('+'), d.severity])).toEqual([
      ['psi', 'flat', 'drift+step', 'advisory'],
      ['hz', 'flat', 'drift+step', 'advisory'],
      ['disp', 'daily', 'drift', 'advisory'],
    ]);
    expect(cfg.detectors).toBe(DEFAULT_DETECTORS);
  });

  it('reads WELLWATCH_DETECTORS, completing each entry from its measure\'s defaults', () => {
    const cfg = loadConfig({}, { WELLWATCH_DETECTORS: '[{"measure":"psi","driftThreshold":80},{"measure":"flo"}]' });
    expect(cfg.detectors).toEqual([
      { ...DETECTOR_DEFAULTS.psi, driftThreshold: 80 },
      DETECTOR_DEFAULTS.flo,
    ]);
    expect(DETECTOR_DEFAULTS.flo.baseline).toBe('daily');
  });

  it('prefers an explicit option over the environment', () => {
    const cfg = loadConfig({ detectors: [] }, { WELLWATCH_DETECTORS: '[{"measure":"psi"}]' });
    expect(cfg.detectors).toEqual([]);
  });

  it.each([
    ['not json', /detectors must be JSON/],
    ['{"measure":"psi"}', /must be a JSON array/],
    ['[1]', 'detector 0 must be an object'],
    ['[{"measure":"pressure"}]', 'detector 0: measure must be one of hz, disp, flo, sedPPM, psi, chlPPM, got "pressure"'],
    ['[{"measure":"psi"},{"measure":"psi"}]', 'detector psi: measure given twice (one entry per measure)'],
    ['[{"measure":"psi","treshold":5}]', /detector psi: unknown field "treshold"/],
    ['[{"measure":"psi","detectors":[]}]', 'detector psi: detectors must be a non-empty list of distinct drift, step, got []'],
    ['[{"measure":"psi","detectors":["drift","spike"]}]', /detectors must be a non-empty list/],
    ['[{"measure":"psi","baseline":"weekly"}]', 'detector psi: baseline must be one of flat, daily, got "weekly"'],
    ['[{"measure":"psi","severity":"high"}]', 'detector psi: severity must be one of critical, major, minor, advisory, got "high"'],
    ['[{"measure":"psi","warmupReadings":2.5}]', 'detector psi: warmupReadings must be an integer 10–100000, got 2.5'],
    ['[{"measure":"psi","driftThreshold":0}]', 'detector psi: driftThreshold must be a number 1–100000, got 0'],
    ['[{"measure":"psi","minSpread":"1"}]', /detector psi: minSpread must be a number/],
  ])('rejects %s with a clear message', (json, message) => {
    expect(() => parseDetectorSpecs(json)).toThrow(ConfigError);
    expect(() => parseDetectorSpecs(json)).toThrow(message);
  });
});
