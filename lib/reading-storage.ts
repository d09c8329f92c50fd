/**
 * The three DynamoDB tables of wellwatch: readings, daily stats and the catalog.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { KEYS, NAMES } from '../lambdas/config';
import { STORAGE_DEFAULTS } from './defaults';
import type { WarmThroughputByName } from './fleet-sizing';

/** Properties of {@link ReadingStorage}. */
export interface ReadingStorageProps {
  /**
   * What happens to the tables when they are removed from the stack. Use `DESTROY` only for throw-away stacks.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Physical name of the readings table.
   *
   * @default NAMES.readingsTable (`wellwatch-readings`)
   */
  readonly readingsTableName?: string;
  /**
   * Physical name of the daily stats table.
   *
   * @default NAMES.statsTable (`wellwatch-stats`)
   */
  readonly statsTableName?: string;
  /**
   * Physical name of the catalog table.
   *
   * @default NAMES.catalogTable (`wellwatch-catalog`)
   */
  readonly catalogTableName?: string;
  /**
   * Warm throughput per table (`readings`, `stats`, `catalog`) and index (`alertsByDay`, `alertsByPump`,
   * `statsByDate`), e.g. from `fleetSizing(pumps).warmThroughput`.
   *
   * @default - none: a new on-demand table or index starts at 4,000 write and 12,000 read units per second
   */
  readonly warmThroughput?: WarmThroughputByName;
}

/**
 * DynamoDB tables for readings, daily statistics and the catalog of pump-days.
 *
 * Key schemas come from `KEYS` in `lambdas/config.ts`, the same source `lambdas/store/tables.ts` uses for local mode,
 * so the emulator tables and the AWS tables cannot drift apart. Physical names come from `NAMES`, so the CLI finds
 * the tables by the same names in local mode and in AWS. Every table is on-demand (`PAY_PER_REQUEST`: sensor
 * traffic is steady but rollups are bursty), encrypted with the AWS managed key, and has point-in-time recovery.
 * Readings and stats expire through the TTL attribute `KEYS.ttlAttribute` when a retention is configured.
 *
 * @example
 * const storage = new ReadingStorage(this, 'Storage', { removalPolicy: RemovalPolicy.DESTROY });
 * storage.readingsTable.grantReadData(reader);
 */
export class ReadingStorage extends Construct {
  /** One item per reading: `pk = PUMP#YYYY-MM-DD`, `sk = HH:MM:SS`; sparse GSIs over alerting rows. */
  public readonly readingsTable: dynamodb.Table;
  /** One item per pump-day: `pk = PUMP`, `sk = YYYY-MM-DD`; GSI by date. */
  public readonly statsTable: dynamodb.Table;
  /** Days and pump-days that have data, and pump-days waiting for a re-rollup. */
  public readonly catalogTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ReadingStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? STORAGE_DEFAULTS.removalPolicy;
    const common = {
      partitionKey: { name: KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    };

    this.readingsTable = new dynamodb.Table(this, 'Readings', {
      ...common,
      tableName: props.readingsTableName ?? NAMES.readingsTable,
      timeToLiveAttribute: KEYS.ttlAttribute,
      warmThroughput: props.warmThroughput?.readings,
    });
    for (const index of [KEYS.readings.alertsByDay, KEYS.readings.alertsByPump]) {
      this.readingsTable.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
        warmThroughput: props.warmThroughput?.[index.indexName],
      });
    }

    this.statsTable = new dynamodb.Table(this, 'Stats', {
      ...common,
      tableName: props.statsTableName ?? NAMES.statsTable,
      timeToLiveAttribute: KEYS.ttlAttribute,
      warmThroughput: props.warmThroughput?.stats,
    });
    this.statsTable.addGlobalSecondaryIndex({
      indexName: KEYS.stats.byDate.indexName,
      partitionKey: { name: KEYS.stats.byDate.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: KEYS.stats.byDate.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
      warmThroughput: props.warmThroughput?.[KEYS.stats.byDate.indexName],
    });

    this.catalogTable = new dynamodb.Table(this, 'Catalog', {
      ...common,
      tableName: props.catalogTableName ?? NAMES.catalogTable,
      warmThroughput: props.warmThroughput?.catalog,
    });
  }
}
