import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { API_ENV, ENV } from '../../lambdas/config';
import { FunctionNetwork } from '../../lib/function-network';
import { addGuardChecks, GUARD_RULES, nagFindings } from '../../lib/nag';
import { AlarmLayer } from '../../lib/alarm-layer';
import { Notifications } from '../../lib/notifications';
import { QUERY_API_ALARM_ROUTES, QUERY_API_ROUTES, QueryApi, type QueryApiProps } from '../../lib/query-api';
import { ReadingStorage } from '../../lib/reading-storage';

function fixture(
  id: string,
  props: Partial<QueryApiProps> | ((stack: Stack) => Partial<QueryApiProps>) = {},
  extend: (stack: Stack, api: QueryApi) => void = () => undefined,
) {
  const app = new App();
  const stack = new Stack(app, id);
  const storage = new ReadingStorage(stack, 'Storage');
  const extra = typeof props === 'function' ? props(stack) : props;
  const api = new QueryApi(stack, 'Api', { readingsTable: storage.readingsTable, statsTable: storage.statsTable, catalogTable: storage.catalogTable, ...extra });
  extend(stack, api);
  return { app, stack, storage, api, template: Template.fromStack(stack) };
}

/** Synthesizes a QueryApi alone under the Control Tower controls; returns the open findings and the acknowledged ones. */
function guardReport(props: Partial<QueryApiProps> = {}): { open: string[]; suppressed: string[] } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-api-guard-'));
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Guarded');
    const storage = new ReadingStorage(stack, 'Storage');
    new QueryApi(stack, 'Api', { readingsTable: storage.readingsTable, statsTable: storage.statsTable, catalogTable: storage.catalogTable, ...props });
    addGuardChecks(app);
    try {
      app.synth();
    } catch {
      // The report below names the findings that failed the synth.
    }
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const guard = report.pluginReports[0];
    return {
      open: guard.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.constructPath}`)),
      suppressed: (guard.suppressedViolations ?? []).map((v: any) => `${v.ruleName} ${v.acknowledgedAt}`),
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

const f = fixture('QueryApi');
const ref = (construct: { node: { defaultChild?: unknown } }) => f.stack.getLogicalId(construct.node.defaultChild as never);

/** Every action the API function's role may take, from every policy attached to it. */
function roleActions(template: Template, roleId: string): string[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat()));
}

describe('QueryApi', () => {
  it('routes GET on every API path to the function with payload format 2.0, behind IAM authorisation', () => {
    f.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    f.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    f.template.resourceCountIs('AWS::ApiGatewayV2::Route', QUERY_API_ROUTES.length);
    for (const path of QUERY_API_ROUTES) {
      f.template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `GET ${path}`, AuthorizationType: 'AWS_IAM' });
    }
    f.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('throttles the stage and writes JSON access logs to its own log group', () => {
    f.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [ref(f.api.accessLogs), 'Arn'] }, Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });

  it('keeps access logs in <deployment log prefix>/api-access a year, KMS-encrypted with a key limited to that prefix', () => {
    f.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch/api-access', RetentionInDays: 365, KmsKeyId: Match.anyValue() });
    const staging = fixture('Staging', { deployment: 'staging', logRetention: logs.RetentionDays.ONE_MONTH });
    staging.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch-staging/api-access', RetentionInDays: 30 });
    staging.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch-staging/api', RetentionInDays: 30 });
  });

  it('encrypts the access logs and the function logs with the given logs key, and creates none of its own', () => {
    let key!: kms.Key;
    const shared = fixture('SharedKey', (stack) => {
      key = new kms.Key(stack, 'LogsKey', { enableKeyRotation: true });
      return { logEncryptionKey: key, alarms: false }; // no alarms: no topic key either
    });
    const keyRef = { 'Fn::GetAtt': [shared.stack.getLogicalId(key.node.defaultChild as never), 'Arn'] };
    shared.template.resourceCountIs('AWS::KMS::Key', 1);
    const groups = Object.values(shared.template.findResources('AWS::Logs::LogGroup'));
    expect(groups.map((g) => g.Properties.LogGroupName).sort()).toEqual(['/wellwatch/api', '/wellwatch/api-access']);
    for (const g of groups) expect(g.Properties.KmsKeyId).toEqual(keyRef);
  });

  it('runs the function in the given network, like the other functions', () => {
    let network!: FunctionNetwork;
    const placed = fixture('Placed', (stack) => {
      network = new FunctionNetwork(stack, 'Network', { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb'] });
      return { network };
    });
    const sg = { 'Fn::GetAtt': [placed.stack.getLogicalId(network.securityGroup.node.defaultChild as never), 'GroupId'] };
    placed.template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: { SubnetIds: ['subnet-11aa22bb'], SecurityGroupIds: [sg] } });
  });

  it('gives the function read-only access to the three tables and the signing secret', () => {
    const actions = roleActions(f.template, ref(f.api.function.role));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:GetItem']));
    const writes = actions.filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite|PartiQLInsert|PartiQLUpdate|PartiQLDelete)/.test(a) || a === 'dynamodb:*');
    expect(writes).toEqual([]);
    expect(actions.filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('logs:'))).toEqual([]);
    f.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.readingsTable]: { Ref: ref(f.storage.readingsTable) },
          [ENV.statsTable]: { Ref: ref(f.storage.statsTable) },
          [ENV.catalogTable]: { Ref: ref(f.storage.catalogTable) },
          [API_ENV.cursorSecret]: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        }),
      },
    });
  });

  it('alarms on 5xx responses and on p99 latency', () => {
    const metric = (name: string, stat: string) =>
      Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: name, Namespace: 'AWS/ApiGateway' }), Stat: stat }) })]);
    f.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: metric('5xx', 'Sum'), Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    f.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: metric('Latency', 'p99'), Threshold: 3000, ComparisonOperator: 'GreaterThanThreshold' });
    expect(Object.keys(f.api.alarms).sort()).toEqual(['latency', 'serverErrors']);
    expect(f.api.widgets.length).toBe(3);
  });

  it('notifies a topic of its own on alarm and on recovery when given no action', () => {
    f.template.resourceCountIs('AWS::SNS::Topic', 1);
    const topicId = Object.keys(f.template.findResources('AWS::SNS::Topic'))[0]!;
    const alarms = Object.values(f.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(2);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('notifies the given action (the stack’s ops topic) and creates no topic', () => {
    let topic!: sns.Topic;
    const given = fixture('GivenTopic', (stack) => {
      topic = new sns.Topic(stack, 'Ops');
      return { alarmAction: new actions.SnsAction(topic) };
    });
    given.template.resourceCountIs('AWS::SNS::Topic', 1);
    const topicRef = { Ref: given.stack.getLogicalId(topic.node.defaultChild as never) };
    for (const a of Object.values(given.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions).toEqual([topicRef]);
      expect(a.Properties.OKActions).toEqual([topicRef]);
    }
  });

  it('passes the Control Tower controls, acknowledging only the invoke permissions CT.LAMBDA.PR.2 cannot read', () => {
    const { open, suppressed } = guardReport();
    expect(open).toEqual([]);
    const routes = QUERY_API_ROUTES.map((r) => r.replace(/^\//, '').replace(/\//g, '--'));
    expect(suppressed.sort()).toEqual(
      [
        ...routes.map((r) => `lambda_function_public_access_prohibited_check Guarded/Api/HttpApi/GET--${r}/Handler-Permission`),
        'lambda_inside_vpc_check Guarded/Api/Api/Function',
      ].sort(),
    );
  });

  it('acknowledges CT.APIGATEWAY.PR.5 (route authorization type) only when opened without authorisation', () => {
    const { open, suppressed } = guardReport({ authorization: 'none' });
    expect(open).toEqual([]);
    const ruleName = GUARD_RULES.apiRouteAuthorization.replace(/^.*::/, '');
    expect(suppressed.filter((s) => s.startsWith(ruleName))).toHaveLength(QUERY_API_ROUTES.length);
  });

  it('lets a grantee invoke the GET routes and nothing else', () => {
    let role!: iam.Role;
    const g = fixture('Grant', {}, (stack, api) => {
      role = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
      api.grantInvoke(role);
    });
    g.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Effect: 'Allow' })] },
      Roles: [{ Ref: g.stack.getLogicalId(role.node.defaultChild as never) }],
    });
  });

  it('passes the AwsSolutions checks', () => {
    expect(nagFindings(f.app)).toEqual([]);
  });

  it('can be opened without authorisation for a throw-away stack, and then says so to cdk-nag and cfn-guard', () => {
    const open = fixture('Open', { authorization: 'none', alarms: false });
    open.template.hasResourceProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'NONE' });
    open.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(nagFindings(open.app)).toEqual([]);
  });

  it.each([
    ['rateLimit', { rateLimit: 0 }, /rateLimit must be/],
    ['burstLimit', { burstLimit: 9999 }, /burstLimit must be/],
    ['timeout', { timeout: Duration.seconds(31) }, /timeout must be/],
  ])('rejects a bad %s', (_name, props, message) => {
    expect(() => fixture('Bad', props as Partial<QueryApiProps>)).toThrow(message);
  });
});

describe('QueryApi with the alarm layer', () => {
  function alarmFixture(id: string, props: Partial<QueryApiProps> = {}, outdir?: string) {
    const app = new App(outdir ? { outdir } : {});
    const stack = new Stack(app, id);
    const storage = new ReadingStorage(stack, 'Storage');
    const topic = new Notifications(stack, 'Ops', {}).topic;
    const layer = new AlarmLayer(stack, 'Alarms', { readingsTable: storage.readingsTable, topic });
    const api = new QueryApi(stack, 'Api', {
      readingsTable: storage.readingsTable,
      statsTable: storage.statsTable,
      catalogTable: storage.catalogTable,
      alarmLayer: { table: layer.table, environment: layer.environment, topic },
      ...props,
    });
    return { app, stack, storage, layer, topic, api };
  }
  const a = alarmFixture('AlarmApi');
  const template = Template.fromStack(a.stack);
  const id = (c: { node: { defaultChild?: unknown } }) => a.stack.getLogicalId(c.node.defaultChild as never);

  it('routes the alarm reads (GET) and the operator actions (POST) to the function behind IAM authorisation', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', QUERY_API_ROUTES.length + QUERY_API_ALARM_ROUTES.get.length + QUERY_API_ALARM_ROUTES.post.length);
    for (const path of QUERY_API_ALARM_ROUTES.get) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `GET ${path}`, AuthorizationType: 'AWS_IAM' });
    for (const path of QUERY_API_ALARM_ROUTES.post) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `POST ${path}`, AuthorizationType: 'AWS_IAM' });
  });

  it('may write only alarm state items and notification markers of the alarms table, and publish on the topic', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: id(a.api.function.role) }] } });
    const statements: any[] = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const isWrite = (act: string) => /^dynamodb:(Put|Update|Delete|BatchWrite|PartiQL)/.test(act) || act === 'dynamodb:*';
    const writes = statements.filter((s) => [s.Action].flat().some(isWrite));
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: { 'Fn::GetAtt': [id(a.layer.table), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['P#*', 'N#*'] } },
      },
    ]);
    const publish = statements.filter((s) => [s.Action].flat().includes('sns:Publish'));
    expect(publish.map((s) => s.Resource)).toEqual([{ Ref: id(a.topic) }]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('query API'),
      Environment: { Variables: Match.objectLike({ [ENV.alarmsTable]: { Ref: id(a.layer.table) }, [ENV.alarmNotifications]: { Ref: id(a.topic) } }) },
    });
  });

  it('lets grantOperate invoke the POST alarm routes and nothing else', () => {
    const o = alarmFixture('OperatorGrant');
    const role = new iam.Role(o.stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    o.api.grantOperate(role);
    const t = Template.fromStack(o.stack);
    const policies = t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: o.stack.getLogicalId(role.node.defaultChild as never) }] } });
    const resources = JSON.stringify(Object.values(policies).map((p: any) => p.Properties.PolicyDocument.Statement[0].Resource));
    expect(resources).toContain('/POST/alarms/*');
    expect(resources).not.toContain('/GET/');
  });

  it('passes the Control Tower controls, acknowledging the invoke permission of every route', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-alarm-api-guard-'));
    try {
      const g = alarmFixture('GuardedAlarms', {}, outdir);
      addGuardChecks(g.app);
      try {
        g.app.synth();
      } catch {
        // The report below names the findings.
      }
      const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')).pluginReports[0];
      expect(report.violations.flatMap((v: any) => v.violatingConstructs.map((c: any) => `${v.ruleName} ${c.constructPath}`))).toEqual([]);
      const suppressed: string[] = (report.suppressedViolations ?? []).map((v: any) => `${v.ruleName} ${v.acknowledgedAt}`);
      const seg = (r: string) => r.replace(/^\//, '').replace(/\//g, '--');
      for (const r of QUERY_API_ALARM_ROUTES.post) expect(suppressed).toContain(`lambda_function_public_access_prohibited_check GuardedAlarms/Api/HttpApi/POST--${seg(r)}/Handler-Permission`);
      for (const r of QUERY_API_ALARM_ROUTES.get) expect(suppressed).toContain(`lambda_function_public_access_prohibited_check GuardedAlarms/Api/HttpApi/GET--${seg(r)}/Handler-Permission`);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('passes the AwsSolutions checks', () => {
    expect(nagFindings(alarmFixture('NagAlarms').app)).toEqual([]);
  });
});
