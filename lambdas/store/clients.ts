/**
 * AWS SDK clients built from the wellwatch configuration.
 *
 * Every client uses the Node HTTP/1.1 handler with keep-alive agents and explicit connection and request timeouts,
 * so a stuck connection costs one bounded attempt rather than the rest of the Lambda timeout. When the
 * configuration names an endpoint override on a loopback host (local mode, tests) the client gets dummy
 * credentials, so nothing local ever looks for — or sends — real ones.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SDK_CLIENT, type WellwatchConfig } from '../config';

/** Tuning of one client; every field has a default suited to the Lambda handlers. */
export interface ClientOptions {
  /**
   * Attempts of the SDK's own retry strategy (first try included).
   *
   * @default SDK_CLIENT.defaultMaxAttempts (3) - SDK_CLIENT.storeMaxAttempts (2) for DynamoDB and SQS, whose
   *   writers run their own bounded backoff on top
   */
  readonly maxAttempts?: number;
  /** @default SDK_CLIENT.connectionTimeoutMs (3000) - milliseconds to establish a TCP/TLS connection */
  readonly connectionTimeoutMs?: number;
  /** @default SDK_CLIENT.requestTimeoutMs (10000) - milliseconds for one request and its response */
  readonly requestTimeoutMs?: number;
  /** @default 50 - sockets kept per host */
  readonly maxSockets?: number;
}

/** Credentials used for emulators; never valid in AWS. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1', '0.0.0.0']);

/**
 * Tells whether an endpoint URL points at this machine (an emulator).
 *
 * @example
 * isLocalEndpoint('http://127.0.0.1:4567'); // → true
 */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined || endpoint === '') return false;
  try {
    const host = new URL(endpoint).hostname;
    return LOOPBACK_HOSTS.has(host) || host.startsWith('127.') || host.endsWith('.localhost');
  } catch {
    return false;
  }
}

function handler(options: ClientOptions): NodeHttpHandler {
  const maxSockets = options.maxSockets ?? 50;
  return new NodeHttpHandler({
    connectionTimeout: options.connectionTimeoutMs ?? SDK_CLIENT.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs ?? SDK_CLIENT.requestTimeoutMs,
    throwOnRequestTimeout: true,
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
  });
}

/**
 * Settings every client of ours gets: region, bounded attempts, the HTTP/1.1 handler with timeouts, and for an
 * emulator endpoint dummy credentials. For clients built outside this module (the CLI's CloudWatch client).
 *
 * @example
 * const cw = new CloudWatchClient(clientSettings(cfg, undefined, { maxAttempts: 2 }));
 */
export function clientSettings(cfg: WellwatchConfig, endpoint: string | undefined, options: ClientOptions = {}, defaultAttempts: number = SDK_CLIENT.defaultMaxAttempts) {
  return {
    region: cfg.region,
    maxAttempts: options.maxAttempts ?? defaultAttempts,
    requestHandler: handler(options),
    ...(endpoint ? { endpoint } : {}),
    ...(isLocalEndpoint(endpoint) ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
}

/**
 * Builds the DynamoDB client for the configured region or endpoint override.
 *
 * The SDK retries only once (2 attempts) by default because `writeItems` applies its own bounded exponential
 * backoff with full jitter across attempts; stacking both would multiply the worst-case latency.
 *
 * @example
 * const ddb = dynamoClient(loadConfig({ endpoints: { dynamodb: 'http://127.0.0.1:4567' } }));
 */
export function dynamoClient(cfg: WellwatchConfig, options: ClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientSettings(cfg, cfg.endpoints.dynamodb, options, SDK_CLIENT.storeMaxAttempts));
}

/**
 * Builds the Kinesis client for the configured region or endpoint override.
 *
 * @example
 * const kinesis = kinesisClient(loadConfig());
 */
export function kinesisClient(cfg: WellwatchConfig, options: ClientOptions = {}): KinesisClient {
  return new KinesisClient(clientSettings(cfg, cfg.endpoints.kinesis, options, SDK_CLIENT.defaultMaxAttempts));
}

/**
 * Builds the SQS client for the configured region or endpoint override.
 *
 * @example
 * const sqs = sqsClient(loadConfig());
 */
export function sqsClient(cfg: WellwatchConfig, options: ClientOptions = {}): SQSClient {
  return new SQSClient(clientSettings(cfg, cfg.endpoints.sqs, options, SDK_CLIENT.storeMaxAttempts));
}
