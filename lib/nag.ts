/**
 * Policy validation at synth: cdk-nag (3.x) AwsSolutions rules and the AWS Control Tower proactive controls
 * (cfn-guard, through `@cdklabs/cdk-validator-cfnguard`), both as CDK policy-validation plugins.
 *
 * Both run after synthesis, and any finding that is not acknowledged with
 * `Validations.of(construct).acknowledge({ id, reason })` fails `cdk synth`, one line per finding naming the id to
 * acknowledge. Acknowledgements live next to the construct they concern, each with its reason.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { CfnElement, Stack, Stage, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Registers the AwsSolutions checks on an app (or any stage), so unacknowledged findings fail the synth.
 *
 * @example
 * const app = new App();
 * new WellwatchStack(app, NAMES.stackName);
 * addNagChecks(app);
 */
export function addNagChecks(scope: Stage, options: { verbose?: boolean } = {}): AwsSolutionsChecks {
  const pack = new AwsSolutionsChecks(scope, { verbose: options.verbose ?? true });
  Validations.of(scope).addPlugins(pack);
  return pack;
}

/**
 * Control Tower controls wellwatch acknowledges somewhere, by the id `Validations.acknowledge` takes
 * (`<plugin>::<guard rule name>`, as the synth report prints it).
 */
export const GUARD_RULES = {
  /** CT.CLOUDWATCH.PR.2, log group retention of at least a year: acknowledged only for a shorter retention asked for. */
  logRetention: 'cdk-validator-cfnguard::cloudwatch_log_group_retention_period_check',
  /** CT.LAMBDA.PR.3, Lambda function in a VPC: acknowledged unless `wellwatch:vpc` places the functions. */
  lambdaInVpc: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
} as const;

/**
 * Registers the AWS Control Tower proactive controls (cfn-guard) on an app, so unacknowledged findings fail the synth.
 *
 * The plugin runs the `cfn-guard` binary shipped in its npm package over each synthesized template: offline, no
 * Control Tower account needed.
 *
 * @example
 * const app = new App();
 * new WellwatchStack(app, NAMES.stackName);
 * addNagChecks(app);
 * addGuardChecks(app);
 */
export function addGuardChecks(scope: Stage): CfnGuardValidator {
  const validator = new CfnGuardValidator();
  Validations.of(scope).addPlugins(validator);
  return validator;
}

/** One unacknowledged cdk-nag finding, flattened for tests and messages. */
export interface NagFinding {
  /** Rule id, with the finding in brackets where the rule reports several, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  readonly rule: string;
  /** Construct path of the offending resource. */
  readonly path: string;
  /** What is wrong. */
  readonly description: string;
}

/**
 * Runs the AwsSolutions checks directly on a construct tree and lists the unacknowledged findings.
 *
 * Same rules and acknowledgements as the synth-time plugin, but returns the findings instead of failing, so a test
 * can show exactly which rule fired where.
 *
 * @example
 * expect(nagFindings(app)).toEqual([]);
 */
export function nagFindings(scope: IConstruct): NagFinding[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: false }).validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '', description: v.description })),
  );
}

/**
 * Acknowledges the `<table>/index/*` resource that the DynamoDB grant methods add to a grantee's policy.
 *
 * `grantReadData`/`grantWriteData` on a table with secondary indexes also grant on `<table ARN>/index/*`; cdk-nag
 * reports that as AwsSolutions-IAM5 (wildcard). The wildcard spans only the indexes of that one table, so it is
 * acknowledged per table rather than fixed with a hand-written policy. Tables without a CloudFormation resource in
 * this app (imported tables) are skipped: their ARN is not a logical-id reference.
 *
 * @example
 * storage.readingsTable.grantReadData(fn.role);
 * acknowledgeTableIndexGrant(fn.role, storage.readingsTable, 'reads the table; CDK also grants its indexes');
 */
export function acknowledgeTableIndexGrant(grantee: IConstruct, table: dynamodb.ITable, reason: string): void {
  const resource = table.node.defaultChild;
  if (!(resource instanceof CfnElement)) return;
  const logicalId: unknown = Stack.of(resource).resolve(resource.logicalId);
  Validations.of(grantee).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${String(logicalId)}.Arn>/index/*]`,
    reason: `Wildcard limited to the secondary indexes of ${table.node.path}: ${reason}`,
  });
}
