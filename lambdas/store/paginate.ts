/**
 * Reads every page of a DynamoDB Query as one stream of items.
 */
import { QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * Yields the items of all pages of a Query, following `LastEvaluatedKey` until the result is exhausted.
 *
 * Pages are fetched one at a time, as the consumer of the generator asks for items, so memory stays at one page.
 *
 * @example
 * for await (const item of queryAll(ddb, { TableName: t, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'DAYS' } } })) { … }
 */
export async function* queryAll(client: DynamoDBClient, input: QueryCommandInput): AsyncGenerator<Record<string, AttributeValue>> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new QueryCommand(startKey ? { ...input, ExclusiveStartKey: startKey } : input));
    for (const item of page.Items ?? []) yield item;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined && Object.keys(startKey).length > 0);
}
