import { App, CfnParameter, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { NAMES } from '../../lambdas/config';
import { STREAM_DEFAULTS } from '../../lib/defaults';
import { SensorStream } from '../../lib/sensor-stream';

// The first synthesis pays for loading aws-cdk-lib: 20 s at load 19 on 2 cores.
jest.setTimeout(90_000);

const app = new App();
const defaults = new Stack(app, 'Defaults');
const defaultStream = new SensorStream(defaults, 'Sensors');
const onDemand = new Stack(app, 'OnDemand');
new SensorStream(onDemand, 'Sensors', { mode: 'on-demand', retentionHours: 48, removalPolicy: RemovalPolicy.DESTROY });
const sized = new Stack(app, 'Sized');
new SensorStream(sized, 'Sensors', { shardCount: 7, streamName: 'other-stream' });

function build(props: ConstructorParameters<typeof SensorStream>[2]): SensorStream {
  return new SensorStream(new Stack(new App(), 'Scratch'), 'Sensors', props);
}

describe('SensorStream', () => {
  it('creates a provisioned stream with 2 shards, 24 h retention and the AWS managed KMS key by default', () => {
    const template = Template.fromStack(defaults);
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      Name: NAMES.streamName,
      ShardCount: STREAM_DEFAULTS.shardCount,
      RetentionPeriodHours: 24,
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
    expect(defaultStream.mode).toBe('provisioned');
  });

  it('keeps the stream when the stack is deleted, by default', () => {
    Template.fromStack(defaults).hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('creates no customer managed key (the AWS managed key needs no grants)', () => {
    Template.fromStack(defaults).resourceCountIs('AWS::KMS::Key', 0);
  });

  it('creates an on-demand stream without a shard count', () => {
    Template.fromStack(onDemand).hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: Match.absent(),
      RetentionPeriodHours: 48,
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
    Template.fromStack(onDemand).hasResource('AWS::Kinesis::Stream', { DeletionPolicy: 'Delete' });
  });

  it('takes the shard count and the stream name from props', () => {
    Template.fromStack(sized).hasResourceProperties('AWS::Kinesis::Stream', { Name: 'other-stream', ShardCount: 7 });
  });

  it.each([
    [{ shardCount: 0 }, 'shardCount must be 1–500, got 0'],
    [{ shardCount: 501 }, 'shardCount must be 1–500, got 501'],
    [{ shardCount: 1.5 }, 'shardCount must be 1–500, got 1.5'],
    [{ retentionHours: 23 }, 'retentionHours must be 24–8760, got 23'],
    [{ retentionHours: 8761 }, 'retentionHours must be 24–8760, got 8761'],
    [{ mode: 'on-demand' as const, shardCount: 2 }, 'shardCount must not be set for an on-demand stream, got 2'],
    [{ mode: 'burst' as never }, `mode must be 'provisioned' or 'on-demand', got "burst"`],
  ])('rejects %j with "%s"', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  it('does not validate a shard count only known at deploy time', () => {
    const stack = new Stack(new App(), 'Tokens');
    const shards = new CfnParameter(stack, 'Shards', { type: 'Number' }).valueAsNumber;
    expect(() => new SensorStream(stack, 'Sensors', { shardCount: shards })).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('AWS::Kinesis::Stream', { ShardCount: { Ref: 'Shards' } });
  });
});
