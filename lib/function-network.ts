/**
 * Opt-in VPC placement of the wellwatch functions (`wellwatch:vpc`): imported VPC and subnets, one security group.
 */
import { Annotations, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { VPC_DEFAULTS } from './defaults';
import { parseVpcPlacement, type VpcPlacement } from './validate';

/** Properties of {@link FunctionNetwork}. */
export interface FunctionNetworkProps extends VpcPlacement {}

/**
 * Where the functions get their network interfaces: existing subnets of an existing VPC, and a security group that
 * admits nothing and lets out only HTTPS.
 *
 * The VPC and subnets are imported by id (`Vpc.fromVpcAttributes`, `Subnet.fromSubnetId`), never looked up, so
 * `cdk synth` stays offline and the stack environment-agnostic. The functions only call AWS APIs (DynamoDB, SQS)
 * over HTTPS, so the security group allows outbound TCP 443 and no inbound traffic (the Kinesis event source is
 * polled by the Lambda service, outside the VPC). The subnets must reach DynamoDB and SQS: through VPC endpoints
 * (a DynamoDB gateway endpoint, an SQS interface endpoint) or a NAT gateway. That is the network owner's job; see
 * the README.
 *
 * @example
 * const network = new FunctionNetwork(this, 'Network', { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb'] });
 */
export class FunctionNetwork extends Construct {
  /** The imported VPC. */
  public readonly vpc: ec2.IVpc;
  /** The imported subnets, as a selection for `lambda.Function#vpcSubnets`. */
  public readonly subnets: ec2.SubnetSelection;
  /** The functions' security group: no inbound rule, outbound TCP 443 only. */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: FunctionNetworkProps) {
    super(scope, id);
    // Same checks as the context key, so a construct user gets the same one-line errors.
    parseVpcPlacement('vpc', { vpcId: props.vpcId, subnetIds: props.subnetIds }, VPC_DEFAULTS.maxSubnets);

    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: props.vpcId,
      // Required by the import; unused because the subnets are given explicitly (no AZ-based selection happens).
      availabilityZones: Stack.of(this).availabilityZones,
    });
    const subnets = props.subnetIds.map((subnetId, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId));
    for (const subnet of subnets) {
      Annotations.of(subnet).acknowledgeWarning(
        '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        'Lambda needs only the subnet id; nothing in wellwatch reads the route table of these subnets.',
      );
    }
    this.subnets = { subnets };
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'wellwatch functions: no inbound, outbound HTTPS to AWS APIs only',
      allowAllOutbound: false,
    });
    const https = ec2.Port.tcp(VPC_DEFAULTS.egressPort);
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), https, 'HTTPS to AWS service endpoints');
  }
}
