/**
 * CDK entry point: `npx cdk synth` / `npx cdk deploy` (see cdk.json).
 *
 * Settings come from CDK context (`-c wellwatch:shards=4`, `-c wellwatch:streamMode=on-demand`,
 * `-c wellwatch:retentionHours=48`, `-c wellwatch:alarmEmail=oncall@example.com`). The AwsSolutions cdk-nag checks
 * run on every synth; an unacknowledged finding fails it.
 */
import { App } from 'aws-cdk-lib';
import { NAMES } from '../lambdas/config';
import { addNagChecks } from '../lib/nag';
import { stackPropsFromContext, WellwatchStack } from '../lib/wellwatch-stack';

const app = new App();
new WellwatchStack(app, NAMES.stackName, stackPropsFromContext(app.node));
addNagChecks(app);
app.synth();
