/**
 * The query API in AWS: an API Gateway HTTP API with IAM authorisation in front of the read-only API function.
 */
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ALARM_KEYS, API_ENV, ENV, deploymentNames, loadApiSettings, loadConfig } from '../lambdas/config';
import { ALARM_DEFAULTS, FUNCTION_DEFAULTS, QUERY_API_DEFAULTS } from './defaults';
import { wellwatchLogGroup } from './log-group';
import { acknowledgeTopicKeyGrant } from './alarm-layer';
import { acknowledgeTableIndexGrant, GUARD_RULES } from './nag';
import { healthAlarm } from './health-alarm';
import { Notifications } from './notifications';
import { checkDurationSeconds, checkIntRange } from './validate';
import { WellwatchFunction, type WellwatchFunctionSettings } from './wellwatch-function';

/** The API's routes (all GET); the handler dispatches on the path. */
export const QUERY_API_ROUTES = ['/pumps', '/pumps/{pump}/readings', '/alerts', '/stats'] as const;

/** The alarm routes, added when the API is given the alarm layer: reads, and the operator actions (POST). */
export const QUERY_API_ALARM_ROUTES = {
  get: ['/alarms', '/alarms/{id}'],
  post: ['/alarms/{id}/ack', '/alarms/{id}/shelve', '/alarms/{id}/unshelve'],
} as const;

/** What the API needs of the alarm layer (lib/alarm-layer.ts) to serve and act on alarms. */
export interface QueryApiAlarmAccess {
  /** The alarms table: read, plus conditional writes of alarm state items and notification markers only. */
  readonly table: dynamodb.ITable;
  /** The alarm layer's environment (table name, buckets, notification topic). */
  readonly environment: Readonly<Record<string, string>>;
  /** The topic operator actions notify right away (else the scheduled alarm check does within 5 minutes). */
  readonly topic?: sns.ITopic;
}

/** How callers authenticate. */
export const QUERY_API_AUTH = { iam: 'iam', none: 'none' } as const;
export type QueryApiAuth = (typeof QUERY_API_AUTH)[keyof typeof QUERY_API_AUTH];

/** Properties of {@link QueryApi}. */
export interface QueryApiProps extends WellwatchFunctionSettings {
  /** Readings table; the API gets read access only. */
  readonly readingsTable: dynamodb.ITable;
  /** Stats table (daily rows and hourly series); read access only. */
  readonly statsTable: dynamodb.ITable;
  /** Catalog table (days, pump registry); read access only. */
  readonly catalogTable: dynamodb.ITable;
  /**
   * How callers authenticate: `iam` (SigV4-signed requests from principals allowed `execute-api:Invoke`) or `none`
   * (anyone who knows the URL — only for throw-away stacks).
   *
   * @default 'iam'
   */
  readonly authorization?: QueryApiAuth;
  /**
   * Steady-state requests per second of the stage, 1–10000.
   *
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Burst of requests of the stage, 1–5000.
   *
   * @default 100
   */
  readonly burstLimit?: number;
  /**
   * Maximum run time of one request, 1–29 seconds (API Gateway gives up after 30).
   *
   * @default Duration.seconds(20)
   */
  readonly timeout?: Duration;
  /**
   * Create the 5xx and latency alarms.
   *
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * p99 latency above which the latency alarm fires, 100 ms–30 s.
   *
   * @default Duration.seconds(3)
   */
  readonly latencyThreshold?: Duration;
  /**
   * Action of the alarms, on alarm and on recovery (OK): the stack passes `new SnsAction(notifications.topic)`, the
   * ops topic every wellwatch alarm notifies. Every alarm needs an action (Control Tower control CT.CLOUDWATCH.PR.1).
   *
   * @default - notify the topic of a {@link Notifications} of its own, without subscription
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;
  /**
   * The alarm layer: adds `GET /alarms`, `GET /alarms/{id}` and `POST /alarms/{id}/ack|shelve|unshelve`.
   *
   * @default - no alarm routes
   */
  readonly alarmLayer?: QueryApiAlarmAccess;
}

/**
 * HTTP API (payload format 2.0) with routes `GET /pumps`, `/pumps/{pump}/readings`, `/alerts`, `/stats` and a
 * Lambda integration running `lambdas/api/handler.ts`.
 *
 * - IAM authorisation by default: every route needs a SigV4 signature from a principal allowed
 *   `execute-api:Invoke` on it (grant with {@link grantInvoke}).
 * - The function may only read the three tables (`grantReadData`), never write.
 * - The cursor-signing secret is generated in Secrets Manager and handed to the function as an environment
 *   variable through a CloudFormation dynamic reference: a reader of the function configuration could forge a
 *   cursor, which only lets them ask for positions inside ranges they may query anyway (the handler re-checks them).
 * - Stage throttling, JSON access logs to a log group `<deployment log prefix>/api-access` (KMS-encrypted, kept a
 *   year by default, like the function's), and alarms on 5xx responses and p99 latency that notify the ops topic.
 * - The function is a {@link WellwatchFunction} like the others: its logs key and (opt-in) VPC placement apply.
 *
 * @example
 * const api = new QueryApi(this, 'Api', { readingsTable, statsTable, catalogTable });
 * api.grantInvoke(analystRole);
 */
export class QueryApi extends Construct {
  /** The HTTP API. */
  public readonly api: apigwv2.HttpApi;
  /** Its `$default` stage. */
  public readonly stage: apigwv2.HttpStage;
  /** The API function. */
  public readonly function: WellwatchFunction;
  /** Access logs of the stage. */
  public readonly accessLogs: logs.LogGroup;
  /** Secret that signs pagination cursors. */
  public readonly cursorSecret: secretsmanager.Secret;
  /** Alarms by purpose; empty when `alarms` is false. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Dashboard widgets of the API (add them to a dashboard). */
  public readonly widgets: readonly cloudwatch.IWidget[];

  constructor(scope: Construct, id: string, props: QueryApiProps) {
    super(scope, id);
    checkIntRange('rateLimit', props.rateLimit, 1, 10_000);
    checkIntRange('burstLimit', props.burstLimit, 1, 5_000);
    checkDurationSeconds('timeout', props.timeout, 1, 29);
    if (props.latencyThreshold !== undefined) checkDurationSeconds('latencyThreshold', props.latencyThreshold, 0.1, 30);
    const auth = props.authorization ?? QUERY_API_AUTH.iam;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.cursorSecret = new secretsmanager.Secret(this, 'CursorSecret', {
      description: 'wellwatch: signs the query API pagination cursors (HMAC-SHA256)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.cursorSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The secret only signs pagination cursors; a rotation would merely invalidate cursors in flight, and the function reads it at deploy time.',
    });
    const environment: Record<string, string> = {
      [ENV.readingsTable]: props.readingsTable.tableName,
      [ENV.statsTable]: props.statsTable.tableName,
      [ENV.catalogTable]: props.catalogTable.tableName,
      [API_ENV.cursorSecret]: this.cursorSecret.secretValue.unsafeUnwrap(),
      ...(props.alarmLayer?.environment ?? {}),
    };
    loadConfig({}, environment);
    loadApiSettings({ cursorSecret: 'x'.repeat(32) }, environment);

    this.function = new WellwatchFunction(this, 'Api', {
      entry: 'lambdas/api/handler.ts',
      description: 'wellwatch: query API (readings, series, alerts, stats)',
      environment,
      memorySize: props.memorySize ?? FUNCTION_DEFAULTS.memorySizeMb,
      timeout: props.timeout ?? QUERY_API_DEFAULTS.timeout,
      deployment: props.deployment,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      network: props.network,
      removalPolicy,
    });
    const fn = this.function.fn;
    for (const table of [props.readingsTable, props.statsTable, props.catalogTable]) {
      table.grantReadData(fn);
      acknowledgeTableIndexGrant(this.function.role, table, 'grantReadData adds them; the API queries the alert and by-date indexes');
    }
    const alarmLayer = props.alarmLayer;
    if (alarmLayer) {
      alarmLayer.table.grantReadData(fn);
      acknowledgeTableIndexGrant(this.function.role, alarmLayer.table, 'grantReadData adds them; the API queries the openAlarms and alarmHistory indexes');
      // Acknowledge/shelve/unshelve write exactly what lambdas/alarms/actions.ts writes: the alarm's state item
      // (conditional Put), its archive item when it closes (Put) — both under `P#<pump>` — and the notification
      // markers `N#<transition>` (Put/Update, Delete to release a failed claim). Never pump items (out of service),
      // leases, or anything by index. "dynamodb:LeadingKeys — Represents the partition key attribute of a table"
      // (DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control").
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [alarmLayer.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${ALARM_KEYS.statePrefix}*`, `${ALARM_KEYS.markerPrefix}*`] } },
        }),
      );
      if (alarmLayer.topic) {
        alarmLayer.topic.grantPublish(fn);
        acknowledgeTopicKeyGrant(this.function.role);
      }
    }

    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${deploymentNames(props.deployment).serviceName}-api`,
      description: 'wellwatch: query API',
      createDefaultStage: false,
      ...(auth === QUERY_API_AUTH.iam ? { defaultAuthorizer: new authorizers.HttpIamAuthorizer() } : {}),
    });
    const integration = new integrations.HttpLambdaIntegration('Handler', fn, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
    for (const path of QUERY_API_ROUTES) this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration });
    if (alarmLayer) {
      for (const path of QUERY_API_ALARM_ROUTES.get) this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration });
      for (const path of QUERY_API_ALARM_ROUTES.post) this.api.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration });
    }

    // Access logs (Control Tower control CT.APIGATEWAY.PR.4) in a log group made like the functions' ones: under the
    // deployment's log prefix, so the stack's logs key may encrypt it, with the same retention.
    this.accessLogs = wellwatchLogGroup(this, 'AccessLogs', {
      name: QUERY_API_DEFAULTS.accessLogName,
      deployment: props.deployment,
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? QUERY_API_DEFAULTS.rateLimit, burstLimit: props.burstLimit ?? QUERY_API_DEFAULTS.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            caller: '$context.identity.userArn',
            requestTime: '$context.requestTime',
            method: '$context.httpMethod',
            path: '$context.path',
            query: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    // CT.LAMBDA.PR.2 accepts a service-principal permission only with a SourceAccount string or a SourceArn that is a
    // string or a Ref/GetAtt of a template resource. The integration's permissions name `apigateway.amazonaws.com`
    // with SourceArn `arn:…:execute-api:<region>:<account>:<api id>/*/*/<route path>` — this API only — but built
    // with Fn::Join (an HTTP API has no ARN attribute), and an account from a pseudo-parameter is no string either.
    for (const permission of this.api.node.findAll().filter((c) => c instanceof lambda.CfnPermission)) {
      Validations.of(permission).acknowledge({
        id: GUARD_RULES.lambdaPublicAccess,
        reason:
          'Not public: API Gateway may invoke the function only for this API and route (SourceArn is the API’s ' +
          'execute-api ARN, an Fn::Join the rule cannot read as a string or a local reference).',
      });
    }
    if (auth === QUERY_API_AUTH.none) {
      // cdk-nag's APIG4 and Control Tower's CT.APIGATEWAY.PR.5 both ask for an authorization type on every route.
      const reason = 'authorization: none was chosen explicitly for a throw-away stack';
      for (const route of this.api.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
        Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason }, { id: GUARD_RULES.apiRouteAuthorization, reason });
      }
    }

    const period = ALARM_DEFAULTS.period;
    const m = {
      requests: this.api.metricCount({ period, statistic: 'Sum', label: 'requests' }),
      clientErrors: this.api.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
      serverErrors: this.api.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
      p50: this.api.metricLatency({ period, statistic: 'p50', label: 'latency p50 (ms)' }),
      p99: this.api.metricLatency({ period, statistic: 'p99', label: 'latency p99 (ms)' }),
      fnDuration: fn.metricDuration({ period, statistic: 'p99', label: 'function p99 (ms)' }),
    };
    const latencyMs = (props.latencyThreshold ?? QUERY_API_DEFAULTS.latencyThreshold).toMilliseconds();
    if (props.alarms ?? true) {
      // Every alarm has an action (CT.CLOUDWATCH.PR.1); recovery is sent too, as for the pipeline's health alarms.
      const action = props.alarmAction ?? new actions.SnsAction(new Notifications(this, 'Notifications', { deployment: props.deployment }).topic);
      this.alarms = {
        serverErrors: healthAlarm(this, 'ServerErrors', {
          description: 'the query API answered with 5xx errors',
          metric: m.serverErrors,
          threshold: QUERY_API_DEFAULTS.serverErrorThreshold,
          action,
        }),
        latency: healthAlarm(this, 'Latency', { description: `the query API's p99 latency is above ${latencyMs} ms`, metric: m.p99, threshold: latencyMs, action }),
      };
    } else {
      this.alarms = {};
    }
    this.widgets = [
      new cloudwatch.GraphWidget({ title: 'Query API: requests, 4xx, 5xx', left: [m.requests], right: [m.clientErrors, m.serverErrors], width: 8, height: 6 }),
      new cloudwatch.GraphWidget({ title: 'Query API: latency (ms)', left: [m.p50, m.p99, m.fnDuration], width: 8, height: 6 }),
      ...(Object.keys(this.alarms).length > 0 ? [new cloudwatch.AlarmStatusWidget({ title: 'Query API alarms', alarms: Object.values(this.alarms), width: 8, height: 6 })] : []),
    ];
  }

  /** The API's base URL (`https://<id>.execute-api.<region>.amazonaws.com`). */
  get url(): string {
    return this.api.apiEndpoint;
  }

  /**
   * Allows a principal to call every read (GET) route (`execute-api:Invoke`), for IAM authorisation; operator
   * actions need {@link grantOperate} as well.
   *
   * @example
   * api.grantInvoke(new iam.Role(this, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() }));
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('GET', '/*', this.stage.stageName)],
    });
  }

  /**
   * Allows a principal to acknowledge, shelve and unshelve alarms (`execute-api:Invoke` on the POST alarm routes).
   *
   * @example
   * api.grantOperate(operatorRole);
   */
  grantOperate(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('POST', '/alarms/*', this.stage.stageName)],
    });
  }
}
