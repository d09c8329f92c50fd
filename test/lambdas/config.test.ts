/**
 * lambdas/config.ts: deployment names, and how loadConfig derives every resource name from them.
 */
import { ConfigError, deploymentNames, ENV, loadConfig, NAMES } from '../../lambdas/config';

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
      deadLetterQueue: 'wellwatch-staging-dead-letters',
      failedBatchQueue: 'wellwatch-staging-failed-batches',
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
