/**
 * The rollup's one conditional write: put a stats-table item unless the table holds one computed from newer input.
 *
 * Shared by the daily rows (StatsStore.putIfNewer) and the hourly series rows (SeriesStore.putHoursIfNewer), so both
 * kinds of row obey the same rule with the same attribute (`KEYS.stats.inputWatermark`): the readings of a pump-day
 * only grow, so a rollup that started reading later saw at least everything an earlier one saw, and ordering the
 * writes by that start time keeps the newest input whatever runs at once.
 */
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEYS } from '../config';

/** What a conditional put did: wrote the item, or left a row of newer input in place. */
export type PutIfNewerOutcome = 'written' | 'superseded';

/**
 * Puts `item` with its input watermark set to `watermark`, on condition that the stored item has no watermark or one
 * not later than `watermark` (an equal one is a retry of the same read, which writes the same statistics).
 *
 * ISO-8601 UTC timestamps of one fixed format compare as strings in time order, which is what `<=` on an S attribute
 * does in a DynamoDB condition. Resolves `superseded` on ConditionalCheckFailedException; throws any other error
 * (the caller retries the pump-day whole).
 *
 * @example
 * await putItemIfNewer(client, cfg.statsTable, statsItem(stats), new Date().toISOString()); // 'written'
 */
export async function putItemIfNewer(
  client: DynamoDBClient,
  table: string,
  item: Record<string, AttributeValue>,
  watermark: string,
): Promise<PutIfNewerOutcome> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { ...item, [KEYS.stats.inputWatermark]: { S: watermark } },
        ConditionExpression: 'attribute_not_exists(#iw) OR #iw <= :iw',
        ExpressionAttributeNames: { '#iw': KEYS.stats.inputWatermark },
        ExpressionAttributeValues: { ':iw': { S: watermark } },
      }),
    );
    return 'written';
  } catch (error) {
    if ((error as { name?: string } | null)?.name === 'ConditionalCheckFailedException') return 'superseded';
    throw error;
  }
}
