/**
 * lib/function-network.ts: imported VPC and subnets (no lookups), a security group with no inbound and HTTPS out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FunctionNetwork } from '../../lib/function-network';

describe('FunctionNetwork', () => {
  const app = new App();
  const stack = new Stack(app, 'Net');
  const network = new FunctionNetwork(stack, 'Network', { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-11aa22bb'] });
  const template = Template.fromStack(stack);

  it('creates only a security group in the given VPC: no inbound rule, outbound TCP 443 only', () => {
    expect(Object.values(template.toJSON().Resources).map((r: any) => r.Type)).toEqual(['AWS::EC2::SecurityGroup']);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0123456789abcdef0',
      SecurityGroupIngress: Match.absent(),
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS to AWS service endpoints' }],
    });
  });

  it('selects exactly the given subnets', () => {
    expect(network.subnets.subnets?.map((s) => s.subnetId)).toEqual(['subnet-11aa22bb']);
  });

  it('needs no lookup, so synth stays offline (no context file, no missing context)', () => {
    const assembly = app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
    expect(fs.existsSync(path.join(app.outdir, 'cdk.context.json'))).toBe(false);
  });

  it.each([
    [{ vpcId: 'vpc-xyz', subnetIds: ['subnet-11aa22bb'] }, 'vpc must be a VPC id (vpc- and 8 or 17 hex digits) with its subnets'],
    [{ vpcId: 'vpc-0a1b2c3d', subnetIds: [] }, 'vpc must be 1–16 subnet ids after the VPC id'],
    [{ vpcId: 'vpc-0a1b2c3d', subnetIds: ['sg-11aa22bb'] }, 'vpc must be subnet ids (subnet- and 8 or 17 hex digits), not "sg-11aa22bb"'],
  ])('rejects %j with a clear error', (props, message) => {
    expect(() => new FunctionNetwork(new Stack(new App(), 'Bad'), 'N', props)).toThrow(message);
  });
});
