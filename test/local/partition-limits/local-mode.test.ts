/**
 * Local mode with `partitionLimits`: the handlers' DynamoDB goes through the proxy, `local.json` names it, and the
 * throttled keys are in `partition-limits.json` on stop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { loadConfig, loadPartitionLimits } from '../../../lambdas/config';
import { dynamoClient, kinesisClient } from '../../../lambdas/store/clients';
import { LOCAL_FILES, readLocalInfo, startLocal } from '../../../local';

jest.setTimeout(60_000);

test('runs the consumer through the partition-limit proxy, publishes it in local.json and reports throttled keys on stop', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-limits-'));
  const limits = loadPartitionLimits({ factor: 500 }, {})!; // 2 WCU/s per key
  const local = await startLocal({ dataDir, memory: true, port: 0, schedule: false, partitionLimits: limits, log: () => undefined, notify: () => undefined });
  try {
    const info = readLocalInfo(dataDir);
    expect(info.partitionLimits).toEqual({ endpoint: local.partitionLimits!.endpoint, factor: 500, burstSeconds: 1 });
    expect(info.dynamodbEndpoint).not.toBe(info.partitionLimits!.endpoint);

    // A reading through the pipeline: the consumer's writes are metered.
    const kinesis = kinesisClient(local.config);
    await kinesis.send(new PutRecordsCommand({ StreamName: local.config.streamName, Records: [{ PartitionKey: 'COHUTTA', Data: Buffer.from('COHUTTA,2026-12-01,01:01:00,10.2,1.7,881,1.5,85,1.9') }] }));
    kinesis.destroy();
    await local.waitForIdle({ timeoutMs: 30_000 });
    expect(local.partitionLimits!.keyStats().find((k) => k.key === 'COHUTTA#2026-12-01')).toMatchObject({ direction: 'write', consumedUnits: 1 });

    // Three writes to one key in a second through the published endpoint: the third is throttled.
    const client = dynamoClient(loadConfig({ endpoints: { dynamodb: info.partitionLimits!.endpoint } }, {}), { maxAttempts: 1 });
    const put = (sk: string) => client.send(new PutItemCommand({ TableName: local.config.catalogTable, Item: { pk: { S: 'HOT' }, sk: { S: sk } } }));
    await put('a');
    await put('b');
    await expect(put('c')).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    client.destroy();
  } finally {
    await local.stop();
  }
  const report = JSON.parse(fs.readFileSync(path.join(dataDir, LOCAL_FILES.partitionLimits), 'utf8')) as { limits: { factor: number }; throttledKeys: { key: string; throttledRequests: number }[] };
  expect(report.limits.factor).toBe(500);
  expect(report.throttledKeys).toEqual([expect.objectContaining({ key: 'HOT', throttledRequests: 1 })]);
  fs.rmSync(dataDir, { recursive: true, force: true });
});
