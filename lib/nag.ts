/**
 * cdk-nag (3.x) wiring: the AwsSolutions rule pack as a CDK policy-validation plugin.
 *
 * cdk-nag 3 is no longer an aspect: it runs after synthesis, and any finding that is not acknowledged with
 * `Validations.of(construct).acknowledge({ id, reason })` fails `cdk synth`. Acknowledgements live next to the
 * construct they concern, each with its reason.
 */
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
