/**
 * A wellwatch Lambda function: bundled TypeScript, its own log group and a role with nothing but log access.
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { deploymentNames, ENV } from '../lambdas/config';
import { FUNCTION_DEFAULTS } from './defaults';
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
   * How long the function's logs are kept.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
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
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** Environment variables (names from `ENV` in `lambdas/config.ts`). */
  readonly environment: Readonly<Record<string, string>>;
  /** Maximum run time of one invocation, 1–900 seconds. */
  readonly timeout: Duration;
  /**
   * Physical function name (from `deploymentNames`), for functions the CLI calls by name.
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
 * - An explicit log group with a retention instead of the `logRetention` custom resource (one Lambda less) and of
 *   never-expiring logs.
 * - An explicit role whose only statement is `logs:CreateLogStream`/`logs:PutLogEvents` on that log group, instead
 *   of the `AWSLambdaBasicExecutionRole` managed policy, which allows writing to every log group of the account.
 * - `forceDockerBundling: false`: synth works offline, without Docker, with the esbuild from `node_modules`.
 *
 * Grant data access on `fn` with the resources' grant methods.
 *
 * @example
 * const rollup = new WellwatchFunction(this, 'Fn', {
 *   entry: 'lambdas/rollup/handler.ts', description: 'rollup', environment: {}, timeout: Duration.minutes(5),
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
    deploymentNames(props.deployment); // throws a ConfigError naming a malformed deployment name

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? FUNCTION_DEFAULTS.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
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
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'wellwatch targets nodejs22.x on purpose (an LTS release Lambda supports into 2027): the handlers, the bundle ' +
        'target and the CI run on Node 22. Moving to nodejs24.x is a deliberate upgrade, not a drive-by one.',
    });
  }
}
