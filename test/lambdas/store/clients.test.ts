import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadConfig, SDK_CLIENT } from '../../../lambdas/config';
import { clientSettings, dynamoClient, isLocalEndpoint, kinesisClient, LOCAL_CREDENTIALS, sqsClient } from '../../../lambdas/store/clients';

const cfgAt = (endpoint?: string) =>
  loadConfig({ region: 'eu-west-1', endpoints: { dynamodb: endpoint, kinesis: endpoint, sqs: endpoint } }, {});

describe('isLocalEndpoint', () => {
  test.each([
    'http://127.0.0.1:4567',
    'http://127.3.2.1:80',
    'http://localhost:8000',
    'http://[::1]:4567',
    'http://0.0.0.0:9000',
    'https://dynalite.localhost',
  ])('%s is this machine', (endpoint) => {
    expect(isLocalEndpoint(endpoint)).toBe(true);
  });

  test.each([
    ['no endpoint', undefined],
    ['an empty override', ''],
    ['a regional AWS endpoint', 'https://dynamodb.eu-west-1.amazonaws.com'],
    ['a private address of another machine', 'http://10.0.0.7:4567'],
    ['a host that only starts like localhost', 'http://localhost.example.com'],
    ['a host that only ends in 127', 'http://db.127'],
    ['a string that is not a URL', 'not a url'],
  ])('%s is not', (_what, endpoint) => {
    expect(isLocalEndpoint(endpoint)).toBe(false);
  });
});

describe('clientSettings', () => {
  test('an emulator endpoint gets the region, the endpoint and the dummy credentials', () => {
    const s = clientSettings(cfgAt(), 'http://127.0.0.1:4567');
    expect(s).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4567', credentials: LOCAL_CREDENTIALS });
    expect(LOCAL_CREDENTIALS).toEqual({ accessKeyId: 'local', secretAccessKey: 'local' });
  });

  test('without an override there is no endpoint and no credentials: the SDK finds the real ones', () => {
    const s = clientSettings(cfgAt(), undefined);
    expect(s).not.toHaveProperty('endpoint');
    expect(s).not.toHaveProperty('credentials');
  });

  test('a remote override keeps its endpoint but never gets dummy credentials', () => {
    const s = clientSettings(cfgAt(), 'https://vpce-1.dynamodb.eu-west-1.vpce.amazonaws.com');
    expect(s.endpoint).toBe('https://vpce-1.dynamodb.eu-west-1.vpce.amazonaws.com');
    expect(s).not.toHaveProperty('credentials');
  });

  test('attempts: the option wins, then the default the caller names, then the SDK_CLIENT default', () => {
    expect(clientSettings(cfgAt(), undefined, { maxAttempts: 7 }, 2).maxAttempts).toBe(7);
    expect(clientSettings(cfgAt(), undefined, {}, 2).maxAttempts).toBe(2);
    expect(clientSettings(cfgAt(), undefined).maxAttempts).toBe(SDK_CLIENT.defaultMaxAttempts);
  });
});

describe('the clients', () => {
  const handlerConfig = async (c: { config: { requestHandler: unknown } }) => {
    // The resolved handler config (NodeHttpHandler keeps it in a private promise until the first request).
    const h = c.config.requestHandler as NodeHttpHandler;
    return (h as unknown as { configProvider: Promise<Record<string, unknown>> }).configProvider;
  };

  test('DynamoDB and SQS retry once in the SDK (their writers back off on top), Kinesis uses the default', async () => {
    const cfg = cfgAt('http://127.0.0.1:1');
    const clients = [dynamoClient(cfg), sqsClient(cfg), kinesisClient(cfg)];
    try {
      expect(await Promise.all(clients.map((c) => c.config.maxAttempts()))).toEqual([
        SDK_CLIENT.storeMaxAttempts,
        SDK_CLIENT.storeMaxAttempts,
        SDK_CLIENT.defaultMaxAttempts,
      ]);
      expect(await Promise.all(clients.map((c) => c.config.credentials()))).toEqual(clients.map(() => expect.objectContaining(LOCAL_CREDENTIALS)));
      expect(await clients[0].config.region()).toBe('eu-west-1');
    } finally {
      for (const c of clients) c.destroy();
    }
  });

  test('the HTTP handler has bounded timeouts and keep-alive agents with the socket cap', async () => {
    const c = dynamoClient(cfgAt('http://127.0.0.1:1'), { maxSockets: 5 });
    try {
      const conf = await handlerConfig(c);
      expect(conf).toMatchObject({
        connectionTimeout: SDK_CLIENT.connectionTimeoutMs,
        requestTimeout: SDK_CLIENT.requestTimeoutMs,
        throwOnRequestTimeout: true,
      });
      const httpAgent = await (conf.httpAgentProvider as () => Promise<unknown>)();
      for (const agent of [httpAgent, conf.httpsAgent]) {
        expect(agent).toMatchObject({ keepAlive: true, maxSockets: 5 });
      }
    } finally {
      c.destroy();
    }
    const sqs = sqsClient(cfgAt('http://127.0.0.1:1'), { connectionTimeoutMs: 111, requestTimeoutMs: 222 });
    try {
      const defaults = await handlerConfig(sqs);
      expect(defaults).toMatchObject({ connectionTimeout: 111, requestTimeout: 222 });
      expect(defaults.httpsAgent).toMatchObject({ maxSockets: 50 });
    } finally {
      sqs.destroy();
    }
  });

  describe('against a server that accepts the connection and never answers', () => {
    let server: Server;
    let endpoint: string;
    beforeAll(async () => {
      server = createServer(() => undefined);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    test('a request fails with a TimeoutError after requestTimeoutMs instead of hanging', async () => {
      const c = dynamoClient(cfgAt(endpoint), { maxAttempts: 1, requestTimeoutMs: 150 });
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('still waiting after 5 s'), 5_000);
      });
      try {
        const outcome = await Promise.race([
          c.send(new ListTablesCommand({})).then(
            () => 'answered',
            (e: Error) => e.name,
          ),
          hung,
        ]);
        expect(outcome).toBe('TimeoutError');
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      } finally {
        clearTimeout(timer);
        c.destroy();
      }
    });
  });
});
