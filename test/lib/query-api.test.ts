import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { API_ENV, ENV } from '../../lambdas/config';
import { nagFindings } from '../../lib/nag';
import { QUERY_API_ROUTES, QueryApi, type QueryApiProps } from '../../lib/query-api';
import { ReadingStorage } from '../../lib/reading-storage';

function fixture(id: string, props: Partial<QueryApiProps> = {}, extend: (stack: Stack, api: QueryApi) => void = () => undefined) {
  const app = new App();
  const stack = new Stack(app, id);
  const storage = new ReadingStorage(stack, 'Storage');
  const api = new QueryApi(stack, 'Api', { readingsTable: storage.readingsTable, statsTable: storage.statsTable, catalogTable: storage.catalogTable, ...props });
  extend(stack, api);
  return { app, stack, storage, api, template: Template.fromStack(stack) };
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

  it('can be opened without authorisation for a throw-away stack, and then says so to cdk-nag', () => {
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
