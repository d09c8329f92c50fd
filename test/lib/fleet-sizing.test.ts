/**
 * `-c wellwatch:pumps=N`: the stream's shards and the tables' warm throughput come from the sizing model, an explicit
 * shard count still wins, and the sizing constants the model shares with lib/defaults.ts agree.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { NAMES, SIZING } from '../../lambdas/config';
import { planFleet } from '../../lambdas/core/sizing';
import { CONTEXT_KEYS, FUNCTION_DEFAULTS, QUERY_API_DEFAULTS } from '../../lib/defaults';
import { fleetSizing } from '../../lib/fleet-sizing';
import { ReadingStorage } from '../../lib/reading-storage';
import { stackPropsFromContext, WellwatchStack } from '../../lib/wellwatch-stack';

/** An app that does not bundle the functions (the assertions are about the stream and the tables). */
const app = (context: Record<string, unknown> = {}) => new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });

describe('fleetSizing', () => {
  it('takes the shard count and warm throughput from the plan', () => {
    const sizing = fleetSizing(1_000_000);
    const plan = planFleet({ pumps: 1_000_000 });
    expect(sizing.shardCount).toBe(plan.shards.needed);
    expect(sizing.warmThroughput).toEqual({
      readings: { writeUnitsPerSecond: 20_000 },
      stats: plan.dynamodb.tables.find((t) => t.table === 'stats' && !t.index)!.warmThroughput,
      catalog: { writeUnitsPerSecond: 20_000 },
      alarms: plan.dynamodb.tables.find((t) => t.table === 'alarms')!.warmThroughput,
    });
  });

  it('warms nothing for a small fleet', () => {
    expect(fleetSizing(1_000).warmThroughput).toEqual({});
  });
});

describe('ReadingStorage warm throughput', () => {
  const stack = new Stack(app(), 'S');
  new ReadingStorage(stack, 'Storage', { warmThroughput: { readings: { writeUnitsPerSecond: 20_000 }, alertsByDay: { writeUnitsPerSecond: 5_000 }, statsByDate: { readUnitsPerSecond: 15_000 } } });
  const template = Template.fromStack(stack);

  it('sets it on the table and on the indexes named', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.readingsTable,
      WarmThroughput: { WriteUnitsPerSecond: 20_000 },
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'alertsByDay', WarmThroughput: { WriteUnitsPerSecond: 5_000 } }),
        Match.objectLike({ IndexName: 'alertsByPump', WarmThroughput: Match.absent() }),
      ]),
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.statsTable,
      WarmThroughput: Match.absent(),
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'statsByDate', WarmThroughput: { ReadUnitsPerSecond: 15_000 } })],
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.catalogTable, WarmThroughput: Match.absent() });
  });
});

describe('WellwatchStack with -c wellwatch:pumps', () => {
  const build = (context: Record<string, unknown>) => {
    const a = app(context);
    return Template.fromStack(new WellwatchStack(a, 'W', stackPropsFromContext(a.node)));
  };

  it('sizes the stream and warms the tables of a 1,000,000-pump fleet', () => {
    const t = build({ [CONTEXT_KEYS.pumps]: '1000000' });
    t.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 8 });
    t.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.readingsTable, WarmThroughput: { WriteUnitsPerSecond: 20_000 } });
    t.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.catalogTable, WarmThroughput: { WriteUnitsPerSecond: 20_000 } });
    t.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.alarmsTable, WarmThroughput: { WriteUnitsPerSecond: fleetSizing(1_000_000).warmThroughput.alarms!.writeUnitsPerSecond } });
  });

  it('keeps an explicit shard count, and still warms the tables', () => {
    const t = build({ [CONTEXT_KEYS.pumps]: '1000000', [CONTEXT_KEYS.shards]: '4' });
    t.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 4 });
    t.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.readingsTable, WarmThroughput: { WriteUnitsPerSecond: 20_000 } });
  });

  it('sets no shard count on an on-demand stream', () => {
    const t = build({ [CONTEXT_KEYS.pumps]: '1000000', [CONTEXT_KEYS.streamMode]: 'on-demand' });
    t.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: Match.absent(), StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
  });

  it('sets no warm throughput without pumps', () => {
    const t = build({});
    t.hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: 2 });
    expect(Object.values(t.findResources('AWS::DynamoDB::Table')).filter((r) => r.Properties.WarmThroughput !== undefined)).toEqual([]);
  });

  it('rejects a pump count that is not an integer, naming the key', () => {
    expect(() => build({ [CONTEXT_KEYS.pumps]: 'lots' })).toThrow('context wellwatch:pumps must be an integer, got "lots"');
    expect(() => build({ [CONTEXT_KEYS.pumps]: '0' })).toThrow('pumps must be an integer 1–100000000, got 0');
  });

  it('refuses a fleet that needs more shards than a stream may have, unless the stream is on-demand', () => {
    expect(() => build({ [CONTEXT_KEYS.pumps]: '80000000' })).toThrow(/^pumps 80000000 need \d+ shards, more than a stream's 500 \(the default quota\): use streamMode on-demand/);
    build({ [CONTEXT_KEYS.pumps]: '80000000', [CONTEXT_KEYS.streamMode]: 'on-demand' }).hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: Match.absent() });
  });
});

describe('constants the sizing model shares with lib/defaults.ts', () => {
  it('plans with the functions\' memory and the API\'s rate limit', () => {
    expect(SIZING.functionMemoryMb).toBe(FUNCTION_DEFAULTS.memorySizeMb);
    expect(SIZING.apiRequestsPerSecond).toBe(QUERY_API_DEFAULTS.rateLimit);
  });
});
