/**
 * The Kinesis data stream the pump sensors write their CSV lines to.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import { ConfigError, NAMES } from '../lambdas/config';
import { STREAM_DEFAULTS, STREAM_MODES, type StreamModeName } from './defaults';
import { checkIntRange } from './validate';

/** Properties of {@link SensorStream}. */
export interface SensorStreamProps {
  /**
   * Physical stream name; the CLI and local mode use the same name.
   *
   * @default NAMES.streamName (`wellwatch-readings`)
   */
  readonly streamName?: string;
  /**
   * Capacity mode: `provisioned` (fixed shards, cheapest at a steady rate) or `on-demand` (scales by itself).
   *
   * @default 'provisioned'
   */
  readonly mode?: StreamModeName;
  /**
   * Shards of a provisioned stream, 1–500. Must not be set for an on-demand stream.
   *
   * @default 2 (when provisioned)
   */
  readonly shardCount?: number;
  /**
   * Hours Kinesis keeps a record, 24–8760. Also the window in which a consumer outage can be recovered from.
   *
   * @default 24
   */
  readonly retentionHours?: number;
  /**
   * What happens to the stream when it is removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An encrypted Kinesis data stream for sensor readings.
 *
 * Server-side encryption uses the AWS managed key `alias/aws/kinesis`, so producers and the consumer need no extra
 * KMS grants. Provisioned by default because pump sensors send at a steady, predictable rate; switch to on-demand
 * when the number of pumps is unknown.
 *
 * @example
 * const stream = new SensorStream(this, 'Stream', { shardCount: 4, retentionHours: 48 });
 */
export class SensorStream extends Construct {
  /** The stream. */
  public readonly stream: kinesis.Stream;
  /** Capacity mode the stream was created with. */
  public readonly mode: StreamModeName;

  constructor(scope: Construct, id: string, props: SensorStreamProps = {}) {
    super(scope, id);
    this.mode = props.mode ?? STREAM_DEFAULTS.mode;
    if (this.mode !== STREAM_MODES.provisioned && this.mode !== STREAM_MODES.onDemand) {
      throw new ConfigError(`mode must be 'provisioned' or 'on-demand', got ${JSON.stringify(props.mode)}`);
    }
    if (this.mode === STREAM_MODES.onDemand && props.shardCount !== undefined) {
      throw new ConfigError(`shardCount must not be set for an on-demand stream, got ${props.shardCount}`);
    }
    checkIntRange('shardCount', props.shardCount, STREAM_DEFAULTS.minShards, STREAM_DEFAULTS.maxShards);
    checkIntRange('retentionHours', props.retentionHours, STREAM_DEFAULTS.minRetentionHours, STREAM_DEFAULTS.maxRetentionHours);

    const provisioned = this.mode === STREAM_MODES.provisioned;
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamName: props.streamName ?? NAMES.streamName,
      streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      shardCount: provisioned ? (props.shardCount ?? STREAM_DEFAULTS.shardCount) : undefined,
      retentionPeriod: Duration.hours(props.retentionHours ?? STREAM_DEFAULTS.retentionHours),
      encryption: kinesis.StreamEncryption.MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
