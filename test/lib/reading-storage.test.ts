import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { KEYS, NAMES } from '../../lambdas/config';
import { ReadingStorage } from '../../lib/reading-storage';

const app = new App();
const stack = new Stack(app, 'Storage');
const storage = new ReadingStorage(stack, 'Storage');
const throwaway = new Stack(app, 'Throwaway');
new ReadingStorage(throwaway, 'Storage', { removalPolicy: RemovalPolicy.DESTROY, readingsTableName: 'test-readings' });
const template = Template.fromStack(stack);

const stringKeys = (pk: string, sk: string) => [
  { AttributeName: pk, KeyType: 'HASH' },
  { AttributeName: sk, KeyType: 'RANGE' },
];

describe('ReadingStorage', () => {
  it('creates exactly three tables', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    expect(new Set([storage.readingsTable, storage.statsTable, storage.catalogTable]).size).toBe(3);
  });

  it.each([NAMES.readingsTable, NAMES.statsTable, NAMES.catalogTable])(
    'makes %s on-demand, AWS-managed encrypted, with point-in-time recovery and pk/sk string keys',
    (tableName) => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: stringKeys(KEYS.partitionKey, KEYS.sortKey),
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: KEYS.partitionKey, AttributeType: 'S' },
          { AttributeName: KEYS.sortKey, AttributeType: 'S' },
        ]),
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    },
  );

  it('gives the readings table the two sparse alert GSIs projecting all attributes, and the TTL attribute', () => {
    const { alertsByDay, alertsByPump } = KEYS.readings;
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.readingsTable,
      GlobalSecondaryIndexes: [
        { IndexName: alertsByDay.indexName, KeySchema: stringKeys(alertsByDay.partitionKey, alertsByDay.sortKey), Projection: { ProjectionType: 'ALL' } },
        { IndexName: alertsByPump.indexName, KeySchema: stringKeys(alertsByPump.partitionKey, alertsByPump.sortKey), Projection: { ProjectionType: 'ALL' } },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: alertsByDay.partitionKey, AttributeType: 'S' },
        { AttributeName: alertsByDay.sortKey, AttributeType: 'S' },
        { AttributeName: alertsByPump.partitionKey, AttributeType: 'S' },
        { AttributeName: alertsByPump.sortKey, AttributeType: 'S' },
      ]),
      TimeToLiveSpecification: { AttributeName: KEYS.ttlAttribute, Enabled: true },
    });
  });

  it('gives the stats table the statsByDate GSI (dpk/pump, dpk = <date>#<bucket>) and the TTL attribute', () => {
    const { byDate } = KEYS.stats;
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.statsTable,
      GlobalSecondaryIndexes: [
        { IndexName: byDate.indexName, KeySchema: stringKeys('dpk', 'pump'), Projection: { ProjectionType: 'ALL' } },
      ],
      TimeToLiveSpecification: { AttributeName: KEYS.ttlAttribute, Enabled: true },
    });
  });

  it('gives the catalog table no index and no TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.catalogTable,
      GlobalSecondaryIndexes: Match.absent(),
      TimeToLiveSpecification: Match.absent(),
    });
  });

  it('retains every table when the stack is deleted, by default', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables)) {
      expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('applies the removal policy and names from props', () => {
    const t = Template.fromStack(throwaway);
    t.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'test-readings' });
    for (const table of Object.values(t.findResources('AWS::DynamoDB::Table'))) {
      expect(table).toMatchObject({ DeletionPolicy: 'Delete' });
    }
  });
});
