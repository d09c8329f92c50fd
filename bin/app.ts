/**
 * CDK entry point: `npx cdk synth` / `npx cdk deploy` (see cdk.json).
 *
 * Settings come from CDK context (`-c wellwatch:shards=4`, `-c wellwatch:pumps=1000000` (shards and warm throughput from the sizing model; `shards` still wins), `-c wellwatch:streamMode=on-demand`,
 * `-c wellwatch:retentionHours=48`, `-c wellwatch:alarmEmail=oncall@example.com`, `-c wellwatch:deployment=staging` for a
 * second deployment `Wellwatch-staging` beside the default one, `-c wellwatch:logRetentionDays=30`,
 * `-c wellwatch:vpc=vpc-ID:subnet-ID,subnet-ID`). The AwsSolutions cdk-nag checks and the AWS Control Tower proactive
 * controls (cfn-guard) run on every synth; an unacknowledged finding fails it.
 */
import { App } from 'aws-cdk-lib';
import { deploymentNames } from '../lambdas/config';
import { addGuardChecks, addNagChecks } from '../lib/nag';
import { stackPropsFromContext, WellwatchStack } from '../lib/wellwatch-stack';

const app = new App();
const props = stackPropsFromContext(app.node);
new WellwatchStack(app, deploymentNames(props.deployment).stackName, props);
addNagChecks(app);
addGuardChecks(app);
app.synth();
