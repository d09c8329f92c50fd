import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { deploymentNames, KEYS, NAMES } from '../../lambdas/config';
import { CONTEXT_KEYS } from '../../lib/defaults';
import { addGuardChecks, addNagChecks, GUARD_RULES, nagFindings } from '../../lib/nag';
import { stackPropsFromContext, WellwatchStack } from '../../lib/wellwatch-stack';

/** The feature flags of cdk.json, so the tested template is the deployed one. */
const cdkContext: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')).context;

/** Every acknowledgement in an app whose id starts with `prefix`: rule id, construct path and reason. */
function acknowledgements(root: App, prefix: string): { id: string; path: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([id, reason]) => ({ id: id.replace(/^annotation::/i, ''), path: c.node.path, reason }))
      .filter((a) => a.id.startsWith(prefix)),
  );
}

/** The VPC placement of the `vpc` variant (ids only: nothing is looked up). */
const VPC = { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb', 'subnet-33cc44dd'] } as const;

/**
 * The app of bin/app.ts plus two variants with every optional resource: a second deployment, `staging`, with an
 * e-mail subscription, and a third, `vpc`, with its functions in a VPC and one-month logs (a test deployment).
 */
function buildApp(outdir?: string): { app: App; stack: WellwatchStack; variant: WellwatchStack; vpcVariant: WellwatchStack } {
  const app = new App({ context: cdkContext, outdir });
  const stack = new WellwatchStack(app, NAMES.stackName);
  const variant = new WellwatchStack(app, deploymentNames('staging').stackName, {
    deployment: 'staging',
    streamMode: 'on-demand',
    retentionHours: 72,
    alarmEmail: 'oncall@example.com',
    retentionDays: 365,
  });
  const vpcVariant = new WellwatchStack(app, deploymentNames('vpc').stackName, {
    deployment: 'vpc',
    vpc: VPC,
    logRetention: logs.RetentionDays.ONE_MONTH,
  });
  return { app, stack, variant, vpcVariant };
}

// Templates come from an app without the nag plugin, so a nag finding fails the nag tests only, not every test.
// Both apps bundle the same handlers; the asset cache makes the second one free.
const { app, stack, variant, vpcVariant } = buildApp();
const nagged = buildApp();
addNagChecks(nagged.app);
const template = Template.fromStack(stack);
const variantTemplate = Template.fromStack(variant);
const vpcTemplate = Template.fromStack(vpcVariant);

const logicalId = (construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as never);
const ids = {
  stream: logicalId(stack.sensors.stream),
  readings: logicalId(stack.storage.readingsTable),
  stats: logicalId(stack.storage.statsTable),
  catalog: logicalId(stack.storage.catalogTable),
  deadLetters: logicalId(stack.consumer.deadLetterQueue),
  failedBatches: logicalId(stack.consumer.failedBatchQueue),
  consumerRole: logicalId(stack.consumer.function.role),
  consumerLogs: logicalId(stack.consumer.function.logGroup),
  rollupRole: logicalId(stack.rollup.function.role),
  rollupLogs: logicalId(stack.rollup.function.logGroup),
  workerRole: logicalId(stack.rollupFanout.function.role),
  workerLogs: logicalId(stack.rollupFanout.function.logGroup),
  workQueue: logicalId(stack.rollupFanout.queue),
  alarms: logicalId(stack.alarmLayer.table),
  checkRole: logicalId(stack.alarmLayer.function.role),
  checkLogs: logicalId(stack.alarmLayer.function.logGroup),
  topic: logicalId(stack.notifications.topic),
  topicKey: logicalId(stack.notifications.key),
  apiRole: logicalId(stack.queryApi.function.role),
  apiLogs: logicalId(stack.queryApi.function.logGroup),
  dashboard: logicalId(stack.observability.dashboard),
};

/** One allowed (action, resource) pair; resources rendered as `<LogicalId>.Arn`, `<LogicalId>.Arn/index/*` or `*`. */
interface Grant {
  readonly action: string;
  readonly resource: string;
}

function renderResource(r: unknown): string {
  if (typeof r === 'string') return r;
  const o = r as Record<string, any>;
  if (o['Fn::GetAtt']) return `${o['Fn::GetAtt'][0]}.${o['Fn::GetAtt'][1]}`;
  if (o.Ref) return o.Ref;
  if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(renderResource).join(o['Fn::Join'][0]);
  return JSON.stringify(r);
}

/** Every Allow (action, resource) pair of the inline policies attached to a role, however statements are merged. */
function grantsOf(t: Template, roleId: string): Grant[] {
  const grants: Grant[] = [];
  for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
    const roles: unknown[] = policy.Properties.Roles ?? [];
    if (!roles.some((r) => (r as { Ref?: string }).Ref === roleId)) continue;
    for (const s of policy.Properties.PolicyDocument.Statement) {
      expect(s.Effect).toBe('Allow');
      const actions: string[] = [s.Action].flat();
      const resources: unknown[] = [s.Resource].flat();
      for (const action of actions) for (const resource of resources) grants.push({ action, resource: renderResource(resource) });
    }
  }
  return grants;
}

const actionsOn = (grants: Grant[], resource: string, prefix = ''): string[] =>
  [...new Set(grants.filter((g) => g.resource === resource && g.action.startsWith(prefix)).map((g) => g.action))].sort();

/** The actions `grantXxx` gives on a table with an index, computed by CDK itself rather than typed here. */
function cdkTableGrant(kind: 'grantReadData' | 'grantWriteData' | 'grantReadWriteData'): string[] {
  const s = new Stack(new App(), 'Reference');
  const table = new dynamodb.Table(s, 'T', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const role = new iam.Role(s, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  table[kind](role);
  return actionsOn(grantsOf(Template.fromStack(s), s.getLogicalId(role.node.defaultChild as never)), `${s.getLogicalId(table.node.defaultChild as never)}.Arn`);
}
const WRITE = cdkTableGrant('grantWriteData');
const READ = cdkTableGrant('grantReadData');
const READ_WRITE = cdkTableGrant('grantReadWriteData');

describe('WellwatchStack composition', () => {
  it('creates one of each core resource', () => {
    template.resourceCountIs('AWS::Kinesis::Stream', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 4);
    template.resourceCountIs('AWS::SQS::Queue', 4); // dead letters, failed batches, rollup work + its DLQ
    template.resourceCountIs('AWS::Lambda::Function', 5);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2); // stream → consumer, work queue → rollup worker
    template.resourceCountIs('AWS::Events::Rule', 3);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10); // 6 pipeline + 2 query API + 2 rollup fan-out
    // The alarm topic always exists, and every CloudWatch alarm notifies it.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmActions).toEqual([{ Ref: ids.topic }]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.resourceCountIs('AWS::Logs::LogGroup', 6); // consumer, rollup planner and worker, alarm check, API function, API access logs
    template.resourceCountIs('AWS::KMS::Key', 2);
    template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
  });

  it('is environment-agnostic (no account, no region, no lookups)', () => {
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    expect(fs.existsSync(path.join(app.outdir, 'cdk.context.json'))).toBe(false);
  });

  it.each([
    ['StreamName', () => ({ Ref: ids.stream })],
    ['StreamArn', () => ({ 'Fn::GetAtt': [ids.stream, 'Arn'] })],
    ['ReadingsTableName', () => ({ Ref: ids.readings })],
    ['StatsTableName', () => ({ Ref: ids.stats })],
    ['CatalogTableName', () => ({ Ref: ids.catalog })],
    ['DeadLetterQueueUrl', () => ({ Ref: ids.deadLetters })],
    ['FailedBatchQueueUrl', () => ({ Ref: ids.failedBatches })],
    ['DashboardName', () => ({ Ref: ids.dashboard })],
    ['QueryApiUrl', () => ({ 'Fn::GetAtt': [logicalId(stack.queryApi.api), 'ApiEndpoint'] })],
    ['AlarmTopicArn', () => ({ Ref: logicalId(stack.notifications.topic) })],
  ])('outputs %s', (name, value) => {
    template.hasOutput(name, { Value: value() });
  });

  it('uses the physical names from NAMES, so the CLI and local mode find the same resources', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', { Name: NAMES.streamName });
    for (const name of [NAMES.readingsTable, NAMES.statsTable, NAMES.catalogTable]) {
      template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: name });
    }
    for (const name of [NAMES.deadLetterQueue, NAMES.failedBatchQueue]) template.hasResourceProperties('AWS::SQS::Queue', { QueueName: name });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: NAMES.serviceName });
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: NAMES.alarmTopic });
    for (const name of ['consumer', 'rollup', 'api', 'api-access']) {
      template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `${NAMES.logGroupPrefix}/${name}` });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: `${NAMES.serviceName}-api` });
  });

  it('names every resource of a second deployment apart from the default one, metrics and dashboard included', () => {
    const staging = deploymentNames('staging');
    expect(variant.stackName).toBe('Wellwatch-staging');
    variantTemplate.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'wellwatch-staging-readings' });
    const tables = Object.values(variantTemplate.findResources('AWS::DynamoDB::Table')).map((t) => t.Properties.TableName);
    expect(tables.sort()).toEqual(['wellwatch-staging-alarms', 'wellwatch-staging-catalog', 'wellwatch-staging-readings', 'wellwatch-staging-stats']);
    variantTemplate.hasResourceProperties('AWS::SNS::Topic', { TopicName: staging.alarmTopic });
    const queues = Object.values(variantTemplate.findResources('AWS::SQS::Queue')).map((q) => q.Properties.QueueName);
    expect(queues.sort()).toEqual([staging.deadLetterQueue, staging.failedBatchQueue, 'wellwatch-staging-rollup-work', 'wellwatch-staging-rollup-work-dlq'].sort());
    variantTemplate.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'wellwatch-staging' });
    const lambdas = Object.values(variantTemplate.findResources('AWS::Lambda::Function'));
    expect(lambdas.map((l) => l.Properties.Environment.Variables.WELLWATCH_DEPLOYMENT)).toEqual(['staging', 'staging', 'staging', 'staging', 'staging']);
    // No physical name is shared with the default deployment.
    const physical = (t: Template): string[] =>
      Object.values(t.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>).flatMap((r) =>
        ['Name', 'TableName', 'QueueName', 'DashboardName', 'TopicName', 'LogGroupName'].map((k) => r.Properties?.[k]).filter((v): v is string => typeof v === 'string'),
      );
    expect(physical(variantTemplate).filter((n) => physical(template).includes(n))).toEqual([]);
    // The default deployment's functions carry no deployment variable (their names are NAMES').
    expect(Object.values(template.findResources('AWS::Lambda::Function')).map((l) => l.Properties.Environment.Variables.WELLWATCH_DEPLOYMENT)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('graphs the custom metrics of its own deployment (service dimension)', () => {
    const body = JSON.stringify(Object.values(variantTemplate.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties.DashboardBody);
    expect(body).toContain('"service\\",\\"wellwatch-staging\\"');
    expect(body).not.toContain('"service\\",\\"wellwatch\\"');
  });

  it('passes stack props down (on-demand stream, stream retention, TTL retention, alarm topic)', () => {
    variantTemplate.hasResourceProperties('AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'ON_DEMAND' }, RetentionPeriodHours: 72 });
    variantTemplate.resourceCountIs('AWS::SNS::Topic', 1);
    variantTemplate.resourceCountIs('AWS::SNS::Subscription', 1);
    variantTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    const lambdas = Object.values(variantTemplate.findResources('AWS::Lambda::Function'));
    // consumer and rollup worker write with a TTL; the planner, the alarm check and the API do not.
    expect(lambdas.map((l) => l.Properties.Environment.Variables.WELLWATCH_RETENTION_DAYS)).toEqual(['365', '365', undefined, undefined, undefined]);
  });
});

describe('WellwatchStack least privilege', () => {
  const consumer = grantsOf(template, ids.consumerRole);
  const planner = grantsOf(template, ids.rollupRole);
  const rollup = grantsOf(template, ids.workerRole);
  const arn = (id: string) => `${id}.Arn`;
  const index = (id: string) => `${id}.Arn/index/*`;

  it('sanity: CDK grant sets are what the assertions below assume', () => {
    expect(WRITE).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:BatchWriteItem']));
    expect(WRITE).not.toContain('dynamodb:Scan');
    expect(READ).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem']));
    expect(READ).not.toContain('dynamodb:PutItem');
  });

  it('grants no action or resource wildcard in any IAM policy of the stack', () => {
    const all = Object.values(template.findResources('AWS::IAM::Role')).length;
    expect(all).toBe(5);
    for (const roleId of [ids.consumerRole, ids.rollupRole, ids.workerRole, ids.checkRole, ids.apiRole]) {
      for (const g of grantsOf(template, roleId)) {
        // The one action wildcard: kms:GenerateDataKey* on the alarm topic's own key (topic.grantPublish).
        if (g.action.includes('*')) expect(g).toEqual({ action: 'kms:GenerateDataKey*', resource: arn(ids.topicKey) });
        expect(g.resource).not.toBe('*');
        // The only wildcard is the index suffix CDK's table grants add, limited to one table.
        if (g.resource.includes('*')) expect(g.resource).toMatch(/^[A-Za-z0-9]+\.Arn\/index\/\*$/);
      }
    }
    expect(Object.keys(template.findResources('AWS::IAM::Policy'))).toHaveLength(5);
  });

  it('attaches no managed policy to either function role', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets the consumer write (exactly grantWriteData) to readings and catalog, and nothing on stats', () => {
    expect(actionsOn(consumer, arn(ids.readings))).toEqual([...WRITE, 'dynamodb:Query'].sort());
    expect(actionsOn(consumer, index(ids.readings))).toEqual(WRITE);
    expect(actionsOn(consumer, arn(ids.catalog))).toEqual(WRITE);
    expect(consumer.filter((g) => g.resource.startsWith(ids.stats))).toEqual([]);
    // The one read outside the alarms table: Query on the readings table itself (early-warning replay, no index).
    expect(consumer.filter((g) => /Scan|Query|GetItem|BatchGetItem/.test(g.action) && !g.resource.startsWith(ids.alarms))).toEqual([{ action: 'dynamodb:Query', resource: arn(ids.readings) }]);
  });

  it('lets the consumer only send to the dead-letter queue and only read the stream', () => {
    expect(actionsOn(consumer, arn(ids.deadLetters))).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    // The failed-batch queue is written by the Lambda service on the function's behalf (on-failure destination).
    expect(actionsOn(consumer, arn(ids.failedBatches))).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    const kinesis = actionsOn(consumer, arn(ids.stream));
    expect(kinesis.length).toBeGreaterThan(0);
    expect(kinesis.every((a) => /^kinesis:(Describe|Get|List|SubscribeToShard)/.test(a))).toBe(true);
    expect(consumer.filter((g) => g.action.startsWith('kinesis:') && g.resource !== arn(ids.stream))).toEqual([]);
    expect(actionsOn(consumer, arn(ids.consumerLogs))).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('gives the consumer nothing else', () => {
    const allowed = new Set([ids.stream, ids.readings, ids.catalog, ids.deadLetters, ids.failedBatches, ids.consumerLogs, ids.alarms, ids.topicKey].map(arn));
    allowed.add(index(ids.readings)).add(index(ids.alarms)).add(ids.topic);
    expect(consumer.filter((g) => !allowed.has(g.resource))).toEqual([]);
  });

  it('lets the consumer evaluate alarms: read/write the alarms table and publish to the alarm topic, nothing more', () => {
    expect(actionsOn(consumer, arn(ids.alarms))).toEqual(READ_WRITE);
    expect(actionsOn(consumer, ids.topic)).toEqual(['sns:Publish']);
    expect(actionsOn(consumer, arn(ids.topicKey))).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  it('lets the alarm check read readings, read/write alarms and publish; nothing on stats, catalog, stream or queues', () => {
    const check = grantsOf(template, ids.checkRole);
    expect(actionsOn(check, arn(ids.readings))).toEqual(READ);
    expect(actionsOn(check, arn(ids.alarms))).toEqual(READ_WRITE);
    expect(actionsOn(check, ids.topic)).toEqual(['sns:Publish']);
    const allowed = new Set([ids.readings, ids.alarms, ids.topicKey, ids.checkLogs].map(arn));
    allowed.add(index(ids.readings)).add(index(ids.alarms)).add(ids.topic);
    expect(check.filter((g) => !allowed.has(g.resource))).toEqual([]);
  });

  it('lets the query API read the four tables and their indexes, write only alarm states and markers, publish; nothing else', () => {
    const api = grantsOf(template, ids.apiRole);
    for (const table of [ids.readings, ids.stats, ids.catalog]) expect(actionsOn(api, arn(table))).toEqual(READ);
    const ACTIONS = ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    expect(actionsOn(api, arn(ids.alarms))).toEqual([...new Set([...READ, ...ACTIONS])].sort());
    expect(api.filter((g) => g.action.startsWith('dynamodb:') && !READ.includes(g.action) && !(ACTIONS.includes(g.action) && g.resource === arn(ids.alarms)))).toEqual([]);
    // The writes are limited to the partition keys of alarm state items (P#) and notification markers (N#).
    const writes = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: ids.apiRole }] } }))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().some((a: string) => ACTIONS.includes(a)));
    expect(writes.map((st: any) => st.Condition)).toEqual([{ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['P#*', 'N#*'] } }]);
    expect(actionsOn(api, ids.topic)).toEqual(['sns:Publish']);
    const allowed = new Set([ids.readings, ids.stats, ids.catalog, ids.alarms, ids.topicKey, ids.apiLogs].map(arn));
    for (const table of [ids.readings, ids.stats, ids.alarms]) allowed.add(index(table));
    allowed.add(ids.topic);
    expect(api.filter((g) => !allowed.has(g.resource))).toEqual([]);
  });

  it('lets the rollup planner use the catalog and send to the work queue, nothing else', () => {
    expect(actionsOn(planner, arn(ids.catalog))).toEqual(READ_WRITE);
    expect(planner.filter((g) => g.resource === arn(ids.workQueue)).map((g) => g.action)).toContain('sqs:SendMessage');
    const allowed = new Set([ids.catalog, ids.workQueue, ids.rollupLogs].map(arn));
    expect(planner.filter((g) => !allowed.has(g.resource))).toEqual([]);
  });

  it('lets the rollup worker read readings, never write them', () => {
    expect(actionsOn(rollup, arn(ids.readings))).toEqual(READ);
    expect(actionsOn(rollup, index(ids.readings))).toEqual(READ);
    expect(rollup.filter((g) => g.resource.startsWith(ids.readings) && WRITE.includes(g.action) && !READ.includes(g.action))).toEqual([]);
  });

  it('lets the rollup worker read and write the catalog (task records, pending markers) and write stats', () => {
    expect(actionsOn(rollup, arn(ids.catalog))).toEqual(READ_WRITE);
    expect(actionsOn(rollup, arn(ids.catalog))).toContain('dynamodb:DeleteItem');
    expect(actionsOn(rollup, arn(ids.stats))).toEqual(WRITE);
  });

  it('gives the rollup worker nothing on the stream, and on the queues only receiving from its work queue', () => {
    const allowed = new Set([ids.readings, ids.stats, ids.catalog, ids.workerLogs, ids.workQueue].map(arn));
    allowed.add(index(ids.readings)).add(index(ids.stats));
    expect(rollup.filter((g) => !allowed.has(g.resource))).toEqual([]);
    expect(rollup.filter((g) => /^kinesis:/.test(g.action))).toEqual([]);
    expect(rollup.filter((g) => /^sqs:/.test(g.action)).map((g) => g.action).sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage']);
  });
});

describe('WellwatchStack cdk-nag (AwsSolutions)', () => {
  it('has no unacknowledged finding', () => {
    expect(nagFindings(nagged.app)).toEqual([]);
  });

  it('synthesizes with the AwsSolutions plugin registered (the plugin fails synth on findings)', () => {
    expect(() => nagged.app.synth()).not.toThrow();
  });

  it('acknowledges only the documented rules, each with a reason', () => {
    const acknowledged = acknowledgements(nagged.app, 'AwsSolutions-');
    const rules = [...new Set(acknowledged.map((a) => a.id.replace(/\[.*\]$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3']);
    // SMG4 only on the query API's cursor secret, in each deployment.
    expect(acknowledged.filter((a) => a.id === 'AwsSolutions-SMG4').map((a) => a.path).sort()).toEqual(
      ['Wellwatch', 'Wellwatch-staging', 'Wellwatch-vpc'].map((s) => `${s}/QueryApi/CursorSecret`).sort(),
    );
    for (const { id, path: at, reason } of acknowledged) {
      expect(reason.length).toBeGreaterThan(40);
      if (!id.startsWith('AwsSolutions-IAM5')) continue;
      // The table-index suffix of CDK's grants; kms:GenerateDataKey* of topic.grantPublish on the alarm topic's key;
      // and, only for the VPC placement, Lambda's network-interface actions.
      if (id === 'AwsSolutions-IAM5[Resource::*]') expect(at).toMatch(/^Wellwatch-vpc\/(Consumer|Rollup|RollupFanout|Alarms|QueryApi)\/\w+\/Role$/);
      else expect(id).toMatch(/^AwsSolutions-IAM5\[(Resource::<[A-Za-z0-9]+\.Arn>\/index\/\*|Action::kms:GenerateDataKey\*)\]$/);
    }
  });

  it('does find and fail on a violation (the check is live)', () => {
    const bad = new App();
    const s = new Stack(bad, 'Bad');
    const queue = new sqs.Queue(s, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    addNagChecks(bad);
    expect(nagFindings(bad).map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'test: acknowledgement removes exactly this rule' });
    expect(nagFindings(bad).map((f) => f.rule)).not.toContain('AwsSolutions-SQS3');
    expect(() => bad.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});

describe('stackPropsFromContext', () => {
  const read = (context: Record<string, unknown>) => stackPropsFromContext(new App({ context }).node);

  it('returns no overrides without context, so the stack defaults apply', () => {
    expect(read({})).toEqual({ streamMode: undefined, shardCount: undefined, retentionHours: undefined, alarmEmail: undefined });
  });

  it('parses command-line strings', () => {
    expect(
      read({
        [CONTEXT_KEYS.shards]: '4',
        [CONTEXT_KEYS.retentionHours]: '48',
        [CONTEXT_KEYS.streamMode]: 'provisioned',
        [CONTEXT_KEYS.alarmEmail]: 'ops@example.com',
      }),
    ).toEqual({ streamMode: 'provisioned', shardCount: 4, retentionHours: 48, alarmEmail: 'ops@example.com' });
  });

  it('reads the deployment name, and a malformed one fails the synth naming the rule', () => {
    expect(read({ [CONTEXT_KEYS.deployment]: 'staging' }).deployment).toBe('staging');
    const a = new App({ context: { [CONTEXT_KEYS.deployment]: 'Staging_1' } });
    expect(() => new WellwatchStack(a, 'W', stackPropsFromContext(a.node))).toThrow(
      'deployment name must be 1–20 characters of a-z, 0-9 and -, starting with a letter, got "Staging_1"',
    );
  });

  it('accepts numbers from cdk.json', () => {
    expect(read({ [CONTEXT_KEYS.shards]: 3 }).shardCount).toBe(3);
  });

  it.each([
    [{ [CONTEXT_KEYS.shards]: 'four' }, 'context wellwatch:shards must be an integer, got "four"'],
    [{ [CONTEXT_KEYS.retentionHours]: '1.5' }, 'context wellwatch:retentionHours must be an integer, got "1.5"'],
    [{ [CONTEXT_KEYS.streamMode]: 'OnDemand' }, `context wellwatch:streamMode must be 'provisioned' or 'on-demand', got "OnDemand"`],
  ])('rejects %j', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it('rejects a malformed alarm e-mail address when the stack is built, naming the setting', () => {
    const a = new App({ context: { [CONTEXT_KEYS.alarmEmail]: 'oncall' } });
    expect(() => new WellwatchStack(a, 'W', stackPropsFromContext(a.node))).toThrow('alarmEmail must be an e-mail address, got "oncall"');
  });

  it('leaves range checks to the constructs (shards 0 fails when the stack is built)', () => {
    const a = new App({ context: { [CONTEXT_KEYS.shards]: '0' } });
    expect(() => new WellwatchStack(a, 'W', stackPropsFromContext(a.node))).toThrow('shardCount must be 1–500, got 0');
  });
});

describe('WellwatchStack alarm layer', () => {
  it('keys the alarms table like local mode: pk/sk, sparse bucketed GSIs openAlarms and alarmHistory, TTL on markers', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: NAMES.alarmsTable,
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: KEYS.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'openAlarms', KeySchema: [{ AttributeName: 'ob', KeyType: 'HASH' }, { AttributeName: 'os', KeyType: 'RANGE' }] }),
        Match.objectLike({ IndexName: 'alarmHistory', KeySchema: [{ AttributeName: 'hb', KeyType: 'HASH' }, { AttributeName: 'hs', KeyType: 'RANGE' }] }),
      ],
    });
  });

  it('runs the alarm check every 5 minutes and tells the consumer, the check and the query API where alarms live and go', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(*/5 * * * ? *)' });
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).map((f) => f.Properties.Environment.Variables);
    const withAlarms = fns.filter((v) => v.WELLWATCH_ALARMS_TABLE !== undefined);
    expect(withAlarms).toHaveLength(3);
    for (const v of withAlarms) {
      expect(v.WELLWATCH_ALARMS_TABLE).toEqual({ Ref: ids.alarms });
      expect(v.WELLWATCH_ALARM_NOTIFICATIONS).toEqual({ Ref: ids.topic });
      expect(v.WELLWATCH_NO_DATA_MINUTES).toBe('30');
    }
  });

  it('encrypts the alarm topic with its own rotated key and refuses non-TLS publishing', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: NAMES.alarmTopic, KmsMasterKeyId: { 'Fn::GetAtt': [ids.topicKey, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0]!;
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });
});

describe('WellwatchStack keys', () => {
  it('shares the TTL attribute with the handlers', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.readingsTable, TimeToLiveSpecification: { AttributeName: KEYS.ttlAttribute, Enabled: true } });
  });
});

describe('WellwatchStack Control Tower controls (template)', () => {
  const topicRef = (s: WellwatchStack) => ({ Ref: s.getLogicalId(s.notifications.topic.node.defaultChild as never) });

  it('gives every alarm of every deployment the ops topic as its action (CT.CLOUDWATCH.PR.1)', () => {
    for (const [s, t] of [[stack, template], [variant, variantTemplate], [vpcVariant, vpcTemplate]] as const) {
      const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms).toHaveLength(10); // 6 pipeline + 2 query API + 2 rollup fan-out
      for (const a of alarms) {
        expect(a.Properties.AlarmActions).toEqual([topicRef(s)]);
        expect(a.Properties.ActionsEnabled).not.toBe(false);
      }
      // The query API's alarms (5xx, latency) and the fan-out's (worker errors, dead-lettered items) also report
      // their recovery.
      for (const a of [...Object.values(s.queryApi.alarms), ...Object.values(s.rollupFanout.alarms)]) {
        const id = s.getLogicalId(a.node.defaultChild as never);
        expect(t.toJSON().Resources[id].Properties.OKActions).toEqual([topicRef(s)]);
      }
    }
  });

  it('encrypts the ops topic with a customer-managed key and refuses plain HTTP (CT.SNS-style, enforceSSL)', () => {
    const keyId = logicalId(stack.notifications.key);
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: NAMES.alarmTopic, KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const policy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0]!;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('keeps function and API access logs a year, encrypted with the stack’s logs key (CT.CLOUDWATCH.PR.2, PR.3)', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(6);
    const keys = new Set(groups.map((g) => JSON.stringify(g.Properties.KmsKeyId)));
    expect(keys.size).toBe(1);
    const keyId: string = groups[0]!.Properties.KmsKeyId['Fn::GetAtt'][0];
    expect(keyId).toBe(logicalId(stack.logEncryptionKey));
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(365);
  });

  it('lets CloudWatch Logs use each deployment’s logs key for that deployment’s log groups only', () => {
    const condition = (t: Template): string => {
      const keyId: string = Object.values(t.findResources('AWS::Logs::LogGroup'))[0]!.Properties.KmsKeyId['Fn::GetAtt'][0];
      const statement = t.toJSON().Resources[keyId].Properties.KeyPolicy.Statement.find(
        (st: { Sid?: string }) => st.Sid === 'AllowCloudWatchLogsForTheseLogGroups',
      );
      return renderResource(statement.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']);
    };
    expect(condition(template)).toBe('arn:AWS::Partition:logs:AWS::Region:AWS::AccountId:log-group:/wellwatch/*');
    expect(condition(variantTemplate)).toBe('arn:AWS::Partition:logs:AWS::Region:AWS::AccountId:log-group:/wellwatch-staging/*');
  });

  it('takes a shorter log retention for a test deployment, API access logs included', () => {
    const groups = Object.values(vpcTemplate.findResources('AWS::Logs::LogGroup'));
    expect(groups.map((g) => g.Properties.LogGroupName).sort()).toEqual(['alarm-check', 'api', 'api-access', 'consumer', 'rollup', 'rollup-worker'].map((n) => `/wellwatch-vpc/${n}`));
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('sends the query API stage’s access logs to its log group (CT.APIGATEWAY.PR.4) and authorises every route with IAM (PR.5)', () => {
    const destination = { 'Fn::GetAtt': [logicalId(stack.queryApi.accessLogs), 'Arn'] };
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { AccessLogSettings: { DestinationArn: destination, Format: Match.stringLikeRegexp('requestId') } });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(9); // 4 query routes, 2 alarm reads, 3 alarm actions
    for (const r of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('declares every queue a dead-letter queue or gives it one (CT.SQS.PR.1)', () => {
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(4);
    const byName = new Map(queues.map((q) => [q.Properties.QueueName as string, q.Properties]));
    // The consumer's dead-letter stores, which no source queue feeds.
    for (const name of [NAMES.deadLetterQueue, NAMES.failedBatchQueue]) expect(byName.get(name)!.RedriveAllowPolicy).toEqual({ redrivePermission: 'allowAll' });
    // The rollup work queue redrives to its own dead-letter queue, which accepts only it.
    expect(byName.get('wellwatch-rollup-work')!.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    expect(byName.get('wellwatch-rollup-work-dlq')!.RedriveAllowPolicy).toMatchObject({ redrivePermission: 'byQueue' });
  });

  it('places every function, the query API’s included, in the given subnets with one security group when a VPC is set (CT.LAMBDA.PR.3)', () => {
    const sg = { 'Fn::GetAtt': [vpcVariant.getLogicalId(vpcVariant.network!.securityGroup.node.defaultChild as never), 'GroupId'] };
    const fns = Object.values(vpcTemplate.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(5);
    for (const f of fns) expect(f.Properties.VpcConfig).toEqual({ SubnetIds: [...VPC.subnetIds], SecurityGroupIds: [sg] });
    vpcTemplate.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    for (const f of Object.values(template.findResources('AWS::Lambda::Function'))) expect(f.Properties.VpcConfig).toBeUndefined();
    expect(stack.network).toBeUndefined();
  });
});

describe('WellwatchStack under both validators (cdk-nag and cfn-guard), as bin/app.ts runs them', () => {
  /** The synth's validation report: one entry per plugin, with the findings left after the acknowledgements. */
  interface Report {
    pluginReports: {
      pluginName: string;
      conclusion: string;
      violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
      suppressedViolations?: { ruleName: string; acknowledgedAt: string; reason: string }[];
    }[];
  }
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-validated-'));
  const validated = buildApp(outdir);
  const nag = addNagChecks(validated.app);
  const guard = addGuardChecks(validated.app);
  // Watch the real plugins run (the report lists only plugins with something to say).
  const nagRuns = jest.spyOn(nag, 'validate');
  const guardRuns = jest.spyOn(guard, 'validate');
  let synthError: unknown;
  try {
    validated.app.synth();
  } catch (e) {
    synthError = e;
  }
  const report: Report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  it('runs both plugins over all three templates', () => {
    expect(nagRuns).toHaveBeenCalledTimes(1);
    expect(guardRuns).toHaveBeenCalledTimes(1);
    for (const run of [nagRuns, guardRuns]) expect(run.mock.calls[0]![0].templatePaths.map((p) => path.basename(p)).sort()).toEqual(
      ['Wellwatch-staging.template.json', 'Wellwatch-vpc.template.json', 'Wellwatch.template.json'],
    );
  });

  it('synthesizes with zero unacknowledged findings from either plugin', () => {
    const open = report.pluginReports.flatMap((r) =>
      r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${r.pluginName} ${v.ruleName} ${c.constructPath}`)),
    );
    expect(open).toEqual([]);
    expect(report.pluginReports.every((r) => r.conclusion === 'success')).toBe(true);
    expect(nagRuns.mock.results[0]!.value.violations).toEqual([]);
    expect(synthError).toBeUndefined();
  });

  it('acknowledges only the documented Control Tower rules, where they apply, each with a reason', () => {
    const guard = report.pluginReports.find((r) => r.pluginName === 'cdk-validator-cfnguard')!;
    const suppressed = (guard.suppressedViolations ?? []).map((v) => `${v.ruleName} ${v.acknowledgedAt}`).sort();
    expect(suppressed).toEqual(
      [
        // No VPC in the default and the staging deployment: CT.LAMBDA.PR.3 acknowledged on each function.
        ...['Wellwatch', 'Wellwatch-staging'].flatMap((s) =>
          ['Consumer/Consumer', 'Rollup/Rollup', 'RollupFanout/Worker', 'Alarms/Check', 'QueryApi/Api'].map((fn) => `lambda_inside_vpc_check ${s}/${fn}/Function`),
        ),
        // One-month logs asked for in the `vpc` test deployment: CT.CLOUDWATCH.PR.2 acknowledged on each log group.
        ...['Consumer/Consumer/Logs', 'Rollup/Rollup/Logs', 'RollupFanout/Worker/Logs', 'Alarms/Check/Logs', 'QueryApi/Api/Logs', 'QueryApi/AccessLogs'].map(
          (group) => `cloudwatch_log_group_retention_period_check Wellwatch-vpc/${group}`,
        ),
        // API Gateway's invoke permission per route: its SourceArn (this API's execute-api ARN) is an Fn::Join that
        // CT.LAMBDA.PR.2 cannot read; acknowledged on each permission, in every deployment.
        ...['Wellwatch', 'Wellwatch-staging', 'Wellwatch-vpc'].flatMap((s) =>
          [
            ...['pumps', 'pumps--{pump}--readings', 'alerts', 'stats', 'alarms', 'alarms--{id}'].map((route) => `GET--${route}`),
            ...['ack', 'shelve', 'unshelve'].map((action) => `POST--alarms--{id}--${action}`),
          ].map((route) => `lambda_function_public_access_prohibited_check ${s}/QueryApi/HttpApi/${route}/Handler-Permission`),
        ),
      ].sort(),
    );
    for (const v of guard.suppressedViolations ?? []) expect(v.reason.length).toBeGreaterThan(40);
    expect([...new Set(acknowledgements(validated.app, 'cdk-validator-cfnguard::').map((a) => a.id))].sort()).toEqual(
      [GUARD_RULES.logRetention, GUARD_RULES.lambdaInVpc, GUARD_RULES.lambdaPublicAccess].sort(),
    );
  });

  it('does find and fail on a Control Tower violation (the check is live)', () => {
    const bad = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-bad-')) });
    const s = new Stack(bad, 'Bad');
    new cloudwatch.Alarm(s, 'Silent', {
      metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'M' }),
      threshold: 0,
      evaluationPeriods: 1,
    });
    addGuardChecks(bad);
    try {
      expect(() => bad.synth()).toThrow(/CT\.CLOUDWATCH\.PR\.1.*\n.*Bad\/Silent/);
      const badReport: Report = JSON.parse(fs.readFileSync(path.join(bad.outdir, 'validation-report.json'), 'utf8'));
      expect(badReport.pluginReports[0]!.violations.map((v) => v.ruleName)).toEqual(['cloudwatch_alarm_action_check']);
    } finally {
      fs.rmSync(bad.outdir, { recursive: true, force: true });
    }
  });
});

describe('stackPropsFromContext: log retention and VPC', () => {
  const read = (context: Record<string, unknown>) => stackPropsFromContext(new App({ context }).node);

  it('reads wellwatch:logRetentionDays from the command line or cdk.json', () => {
    expect(read({ [CONTEXT_KEYS.logRetentionDays]: '30' }).logRetention).toBe(30);
    expect(read({ [CONTEXT_KEYS.logRetentionDays]: 731 }).logRetention).toBe(731);
    expect(read({}).logRetention).toBeUndefined();
  });

  it('reads wellwatch:vpc as vpc-ID:subnet-ID,… or as a JSON object', () => {
    const expected = { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb', 'subnet-33cc44dd'] };
    expect(read({ [CONTEXT_KEYS.vpc]: 'vpc-0a1b2c3d:subnet-11aa22bb,subnet-33cc44dd' }).vpc).toEqual(expected);
    expect(read({ [CONTEXT_KEYS.vpc]: JSON.stringify(expected) }).vpc).toEqual(expected);
    expect(read({ [CONTEXT_KEYS.vpc]: expected }).vpc).toEqual(expected);
    expect(read({ [CONTEXT_KEYS.vpc]: 'vpc-0123456789abcdef0:subnet-0123456789abcdef0' }).vpc?.subnetIds).toEqual(['subnet-0123456789abcdef0']);
    expect(read({}).vpc).toBeUndefined();
  });

  it.each([
    [{ [CONTEXT_KEYS.logRetentionDays]: '100' }, 'context wellwatch:logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 100'],
    [{ [CONTEXT_KEYS.logRetentionDays]: 'forever' }, 'context wellwatch:logRetentionDays must be an integer, got "forever"'],
    [{ [CONTEXT_KEYS.vpc]: 'subnet-11aa22bb' }, `context wellwatch:vpc must be 'vpc-ID:subnet-ID,subnet-ID' or {"vpcId", "subnetIds"}, got "subnet-11aa22bb"`],
    [{ [CONTEXT_KEYS.vpc]: 'vpc-0a1b2c3d:' }, 'context wellwatch:vpc must be subnet ids (subnet- and 8 or 17 hex digits), not ""'],
    [{ [CONTEXT_KEYS.vpc]: 'vpc-0a1b2c3d:subnet-11aa22bb,subnet-11aa22bb' }, 'context wellwatch:vpc must be distinct subnet ids'],
    [{ [CONTEXT_KEYS.vpc]: 'vpc-nothex1:subnet-11aa22bb' }, 'context wellwatch:vpc must be a VPC id (vpc- and 8 or 17 hex digits) with its subnets'],
    [{ [CONTEXT_KEYS.vpc]: '{"vpcId": "vpc-0a1b2c3d"' }, 'context wellwatch:vpc must be valid JSON when it starts with {'],
    [{ [CONTEXT_KEYS.vpc]: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb'], sg: 'x' } }, 'context wellwatch:vpc must be {"vpcId", "subnetIds"} only (unknown sg)'],
    [{ [CONTEXT_KEYS.vpc]: `vpc-0a1b2c3d:${Array.from({ length: 17 }, (_, i) => `subnet-${String(i).padStart(8, '0')}`).join(',')}` }, 'context wellwatch:vpc must be 1–16 subnet ids after the VPC id'],
  ])('rejects %j with a clear error', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });
});
