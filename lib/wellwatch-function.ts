/**
 * A wellwatch Lambda function: bundled TypeScript, its own log group and a role with nothing but log access.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/config';
import { FUNCTION_DEFAULTS } from './defaults';
import type { FunctionNetwork } from './function-network';
import { wellwatchLogGroup } from './log-group';
import { GUARD_RULES } from './nag';
import { checkDurationSeconds, checkIntRange } from './validate';

/** Root of the repository: `lib/..`. Bundling resolves entries and the lock file from here. */
const PROJECT_ROOT = path.join(__dirname, '..');

/**
 * Settings every wellwatch function accepts; the consumer's and the rollup's props extend it.
 */
export interface WellwatchFunctionSettings {
  /**
   * Memory in MB, 128–10240. CPU share grows with memory.
   *
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * How long the function's logs are kept, one of the periods CloudWatch Logs accepts (or `INFINITE`). Shorter than
   * a year fails Control Tower control CT.CLOUDWATCH.PR.2 and is therefore acknowledged on the log group.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * KMS key encrypting the function's log group. Its policy must let CloudWatch Logs use it for that log group
   * (see `logsEncryptionKey`); one key can serve every function of a deployment.
   *
   * @default - a key of the function's own, limited to its deployment's log groups
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Subnets and security group the function runs in. Without it the function runs outside any VPC and Control Tower
   * control CT.LAMBDA.PR.3 is acknowledged on it, with the reason.
   *
   * @default - no VPC
   */
  readonly network?: FunctionNetwork;
  /**
   * What happens to the function's log group (and a construct's queues) when they are removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Deployment name (see `deploymentNames` in `lambdas/config.ts`): names the construct's own resources (the
   * consumer's queues) and the `service` dimension of the handler's metrics. The tables and stream are passed in.
   *
   * @default - the default deployment (`wellwatch-…` names, service `wellwatch`)
   */
  readonly deployment?: string;
}

/** Properties of {@link WellwatchFunction}. */
export interface WellwatchFunctionProps extends WellwatchFunctionSettings {
  /** Path of the handler file relative to the repository root, e.g. `lambdas/consumer/handler.ts`. */
  readonly entry: string;
  /**
   * Short name of the function within its deployment (`consumer`, `rollup`): its log group is `<prefix>/<name>`.
   *
   * @default - the construct id in lower case (`Check` → `/wellwatch/check`)
   */
  readonly name?: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** Environment variables (names from `ENV` in `lambdas/config.ts`). */
  readonly environment: Readonly<Record<string, string>>;
  /** Maximum run time of one invocation, 1–900 seconds. */
  readonly timeout: Duration;
  /**
   * Physical function name (from `deploymentNames`, e.g. `wellwatch-staging-consumer`), for functions the CLI calls
   * by name (`wellwatch replay` invokes the consumer). Independent of {@link name}, which names the log group under
   * the deployment's prefix (`/wellwatch-staging/consumer`): the function logs there through its logging config
   * whatever it is called, so the logs key's prefix condition holds.
   *
   * @default - a name CloudFormation generates
   */
  readonly functionName?: string;
}

/**
 * A Node.js 22 / arm64 Lambda function bundled locally with esbuild, with an explicit log group and role.
 *
 * Why not the `NodejsFunction` defaults:
 * - `externalModules: []` bundles AWS SDK v3 too. The SDK in the Lambda runtime changes under us between
 *   deployments; bundling pins the exact client versions in `package-lock.json` that the tests ran against. esbuild
 *   tree-shakes the clients, so the cold-start cost is small.
 * - An explicit log group `<deployment log prefix>/<name>` (e.g. `/wellwatch/consumer`) with a retention (a year by
 *   default), encrypted with a customer-managed KMS key, instead of the `logRetention` custom resource (one Lambda
 *   less) and of never-expiring, unencrypted logs.
 * - Optionally inside a VPC ({@link WellwatchFunctionSettings.network}); the role then also gets the network
 *   interface permissions Lambda needs there.
 * - An explicit role whose only statement is `logs:CreateLogStream`/`logs:PutLogEvents` on that log group, instead
 *   of the `AWSLambdaBasicExecutionRole` managed policy, which allows writing to every log group of the account.
 * - `forceDockerBundling: false`: synth works offline, without Docker, with the esbuild from `node_modules`.
 *
 * Grant data access on `fn` with the resources' grant methods.
 *
 * @example
 * const rollup = new WellwatchFunction(this, 'Fn', {
 *   name: 'rollup', entry: 'lambdas/rollup/handler.ts', description: 'rollup', environment: {},
 *   timeout: Duration.minutes(5),
 * });
 * statsTable.grantWriteData(rollup.fn);
 */
export class WellwatchFunction extends Construct {
  /** The function. */
  public readonly fn: nodejs.NodejsFunction;
  /** Its execution role. */
  public readonly role: iam.Role;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WellwatchFunctionProps) {
    super(scope, id);
    checkIntRange('memorySize', props.memorySize, FUNCTION_DEFAULTS.minMemorySizeMb, FUNCTION_DEFAULTS.maxMemorySizeMb);
    checkDurationSeconds('timeout', props.timeout, 1, FUNCTION_DEFAULTS.maxTimeoutSeconds);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // Made like every wellwatch log group (name, retention, key, a shorter retention acknowledged).
    this.logGroup = wellwatchLogGroup(this, 'Logs', {
      name: props.name ?? id.toLowerCase(),
      deployment: props.deployment,
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      ...(props.functionName !== undefined ? { functionName: props.functionName } : {}),
      runtime: FUNCTION_DEFAULTS.runtime,
      architecture: FUNCTION_DEFAULTS.architecture,
      memorySize: props.memorySize ?? FUNCTION_DEFAULTS.memorySizeMb,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      vpc: props.network?.vpc,
      vpcSubnets: props.network?.subnets,
      securityGroups: props.network ? [props.network.securityGroup] : undefined,
      // Stack traces point into the TypeScript sources.
      environment: {
        ...props.environment,
        ...(props.deployment !== undefined ? { [ENV.deployment]: props.deployment } : {}),
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: FUNCTION_DEFAULTS.bundleTarget,
        format: nodejs.OutputFormat.CJS,
        externalModules: [],
        forceDockerBundling: false,
      },
    });
    if (props.network) {
      allowNetworkInterfaces(this.role);
    } else {
      Validations.of(this.fn).acknowledge({
        id: GUARD_RULES.lambdaInVpc,
        reason:
          'wellwatch only calls AWS APIs (DynamoDB, SQS) and is polled by the Lambda service; running it in a VPC ' +
          'adds endpoints or a NAT gateway and buys no isolation it needs. It is opt-in: set wellwatch:vpc.',
      });
    }
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'wellwatch targets nodejs22.x on purpose (an LTS release Lambda supports into 2027): the handlers, the bundle ' +
        'target and the CI run on Node 22. Moving to nodejs24.x is a deliberate upgrade, not a drive-by one.',
    });
  }
}

/**
 * Grants the network-interface permissions Lambda uses to place a function in a VPC.
 *
 * The Lambda developer guide ("Giving Lambda functions access to resources in an Amazon VPC"): "Lambda uses your
 * function's permissions to create and manage network interfaces", namely `ec2:CreateNetworkInterface`,
 * `ec2:DescribeNetworkInterfaces` ("only works if it's allowed on all resources"), `ec2:DescribeSubnets`,
 * `ec2:DeleteNetworkInterface`, `ec2:AssignPrivateIpAddresses` and `ec2:UnassignPrivateIpAddresses`: the list of the
 * AWS managed policy `AWSLambdaVPCAccessExecutionRole` without its `logs:*` on every log group. The resource is
 * `*` because the network interfaces do not exist yet and the Describe actions take no resource; cdk-nag's IAM5
 * finding is acknowledged with that reason.
 */
function allowNetworkInterfaces(role: iam.Role): void {
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'LambdaVpcNetworkInterfaces',
      actions: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Only with wellwatch:vpc: the EC2 network-interface actions Lambda needs in a VPC; the interfaces do not exist ' +
      'before Lambda creates them and ec2:Describe* takes no resource-level permission.',
  });
}
