import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { deploymentNames, KEYS, NAMES } from '../../lambdas/config';
import { CONTEXT_KEYS } from '../../lib/defaults';
import { addNagChecks, nagFindings } from '../../lib/nag';
import { stackPropsFromContext, WellwatchStack } from '../../lib/wellwatch-stack';

/** The feature flags of cdk.json, so the tested template is the deployed one. */
const cdkContext: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')).context;

/** The app of bin/app.ts plus a variant stack with every optional resource: a second deployment, `staging`. */
function buildApp(): { app: App; stack: WellwatchStack; variant: WellwatchStack } {
  const app = new App({ context: cdkContext });
  const stack = new WellwatchStack(app, NAMES.stackName);
  const variant = new WellwatchStack(app, deploymentNames('staging').stackName, {
    deployment: 'staging',
    streamMode: 'on-demand',
    retentionHours: 72,
    alarmEmail: 'oncall@example.com',
    retentionDays: 365,
  });
  return { app, stack, variant };
}

// Templates come from an app without the nag plugin, so a nag finding fails the nag tests only, not every test.
// Both apps bundle the same handlers; the asset cache makes the second one free.
const { app, stack, variant } = buildApp();
const nagged = buildApp();
addNagChecks(nagged.app);
const template = Template.fromStack(stack);
const variantTemplate = Template.fromStack(variant);

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
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 8); // 6 pipeline + 2 query API
    template.resourceCountIs('AWS::SNS::Topic', 0);
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
  });

  it('names every resource of a second deployment apart from the default one, metrics and dashboard included', () => {
    const staging = deploymentNames('staging');
    expect(variant.stackName).toBe('Wellwatch-staging');
    variantTemplate.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'wellwatch-staging-readings' });
    const tables = Object.values(variantTemplate.findResources('AWS::DynamoDB::Table')).map((t) => t.Properties.TableName);
    expect(tables.sort()).toEqual(['wellwatch-staging-catalog', 'wellwatch-staging-readings', 'wellwatch-staging-stats']);
    const queues = Object.values(variantTemplate.findResources('AWS::SQS::Queue')).map((q) => q.Properties.QueueName);
    expect(queues.sort()).toEqual([staging.deadLetterQueue, staging.failedBatchQueue].sort());
    variantTemplate.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'wellwatch-staging' });
    const lambdas = Object.values(variantTemplate.findResources('AWS::Lambda::Function'));
    expect(lambdas.map((l) => l.Properties.Environment.Variables.WELLWATCH_DEPLOYMENT)).toEqual(['staging', 'staging', 'staging']);
    // No physical name is shared with the default deployment.
    const physical = (t: Template): string[] =>
      Object.values(t.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>).flatMap((r) =>
        ['Name', 'TableName', 'QueueName', 'DashboardName'].map((k) => r.Properties?.[k]).filter((v): v is string => typeof v === 'string'),
      );
    expect(physical(variantTemplate).filter((n) => physical(template).includes(n))).toEqual([]);
    // The default deployment's functions carry no deployment variable (their names are NAMES').
    expect(Object.values(template.findResources('AWS::Lambda::Function')).map((l) => l.Properties.Environment.Variables.WELLWATCH_DEPLOYMENT)).toEqual([
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
    const lambdas = Object.values(variantTemplate.findResources('AWS::Lambda::Function'));
    expect(lambdas.map((l) => l.Properties.Environment.Variables.WELLWATCH_RETENTION_DAYS)).toEqual(['365', '365']);
  });
});

describe('WellwatchStack least privilege', () => {
  const consumer = grantsOf(template, ids.consumerRole);
  const rollup = grantsOf(template, ids.rollupRole);
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
    expect(all).toBe(3);
    for (const roleId of [ids.consumerRole, ids.rollupRole, ids.apiRole]) {
      for (const g of grantsOf(template, roleId)) {
        expect(g.action).not.toContain('*');
        expect(g.resource).not.toBe('*');
        // The only wildcard is the index suffix CDK's table grants add, limited to one table.
        if (g.resource.includes('*')) expect(g.resource).toMatch(/^[A-Za-z0-9]+\.Arn\/index\/\*$/);
      }
    }
    expect(Object.keys(template.findResources('AWS::IAM::Policy'))).toHaveLength(3);
  });

  it('attaches no managed policy to either function role', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets the consumer write (exactly grantWriteData) to readings and catalog, and nothing on stats', () => {
    expect(actionsOn(consumer, arn(ids.readings))).toEqual(WRITE);
    expect(actionsOn(consumer, index(ids.readings))).toEqual(WRITE);
    expect(actionsOn(consumer, arn(ids.catalog))).toEqual(WRITE);
    expect(consumer.filter((g) => g.resource.startsWith(ids.stats))).toEqual([]);
    expect(consumer.filter((g) => /Scan|Query|GetItem|BatchGetItem/.test(g.action))).toEqual([]);
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
    const allowed = new Set([ids.stream, ids.readings, ids.catalog, ids.deadLetters, ids.failedBatches, ids.consumerLogs].map(arn));
    allowed.add(index(ids.readings));
    expect(consumer.filter((g) => !allowed.has(g.resource))).toEqual([]);
  });

  it('lets the query API read the three tables and their indexes, and nothing else', () => {
    const api = grantsOf(template, ids.apiRole);
    for (const table of [ids.readings, ids.stats, ids.catalog]) expect(actionsOn(api, arn(table))).toEqual(READ);
    expect(api.filter((g) => g.action.startsWith('dynamodb:') && !READ.includes(g.action))).toEqual([]);
    const allowed = new Set([ids.readings, ids.stats, ids.catalog, ids.apiLogs].map(arn));
    for (const table of [ids.readings, ids.stats]) allowed.add(index(table));
    expect(api.filter((g) => !allowed.has(g.resource))).toEqual([]);
  });

  it('lets the rollup read readings, never write them', () => {
    expect(actionsOn(rollup, arn(ids.readings))).toEqual(READ);
    expect(actionsOn(rollup, index(ids.readings))).toEqual(READ);
    expect(rollup.filter((g) => g.resource.startsWith(ids.readings) && WRITE.includes(g.action) && !READ.includes(g.action))).toEqual([]);
  });

  it('lets the rollup read and write the catalog (it deletes pending markers) and write stats', () => {
    expect(actionsOn(rollup, arn(ids.catalog))).toEqual(READ_WRITE);
    expect(actionsOn(rollup, arn(ids.catalog))).toContain('dynamodb:DeleteItem');
    expect(actionsOn(rollup, arn(ids.stats))).toEqual(WRITE);
  });

  it('gives the rollup nothing on the stream or the queues', () => {
    const allowed = new Set([ids.readings, ids.stats, ids.catalog, ids.rollupLogs].map(arn));
    allowed.add(index(ids.readings)).add(index(ids.stats));
    expect(rollup.filter((g) => !allowed.has(g.resource))).toEqual([]);
    expect(rollup.filter((g) => /^(sqs|kinesis):/.test(g.action))).toEqual([]);
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
    const acknowledged = new Map<string, string>();
    for (const c of nagged.app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
          acknowledged.set(id.replace(/^annotation::/i, ''), reason);
        }
      }
    }
    const rules = [...new Set([...acknowledged.keys()].map((id) => id.replace(/\[.*\]$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3']);
    for (const [id, reason] of acknowledged) {
      expect(reason.length).toBeGreaterThan(40);
      if (id.startsWith('AwsSolutions-IAM5')) expect(id).toMatch(/^AwsSolutions-IAM5\[Resource::<[A-Za-z0-9]+\.Arn>\/index\/\*\]$/);
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

  it('leaves range checks to the constructs (shards 0 fails when the stack is built)', () => {
    const a = new App({ context: { [CONTEXT_KEYS.shards]: '0' } });
    expect(() => new WellwatchStack(a, 'W', stackPropsFromContext(a.node))).toThrow('shardCount must be 1–500, got 0');
  });
});

describe('WellwatchStack keys', () => {
  it('shares the TTL attribute with the handlers', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: NAMES.readingsTable, TimeToLiveSpecification: { AttributeName: KEYS.ttlAttribute, Enabled: true } });
  });
});
