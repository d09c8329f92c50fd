import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SNSClient } from '@aws-sdk/client-sns';
import { loadConfig } from '../../../lambdas/config';
import type { AlarmEpisode, Transition } from '../../../lambdas/core/alarm-state';
import { createNotifier, notificationOf } from '../../../lambdas/store/notifier';

const episode: AlarmEpisode = {
  id: 'P.low-psi.20140310T000000Z',
  pump: 'P',
  rule: 'low-psi',
  kind: 'threshold',
  severity: 'major',
  condition: 'ACTIVE',
  acknowledged: false,
  latch: false,
  firstTime: '2014-03-10T00:00:00Z',
  raisedTime: '2014-03-10T00:01:00Z',
  lastTime: '2014-03-10T00:02:00Z',
  count: 3,
  worstValue: 1,
  lastValue: 2,
  closed: false,
  trail: [],
};

function transition(type: Transition['type'], alarm: Partial<AlarmEpisode> = {}): Transition {
  return { id: `${episode.id}/1`, type, at: '2014-03-10T00:02:00Z', notify: true, alarm: { ...episode, ...alarm } };
}

const cfgWith = (notifications?: string) => loadConfig(notifications ? { alarms: { notifications } } : {}, {});

describe('notificationOf', () => {
  it('names severity, transition, pump and rule in the subject, and values, times and how to acknowledge in the text', () => {
    expect(notificationOf(transition('raised', { detail: 'psi 2 < 5' }))).toEqual({
      transition: 'P.low-psi.20140310T000000Z/1',
      type: 'raised',
      alarm: 'P.low-psi.20140310T000000Z',
      pump: 'P',
      rule: 'low-psi',
      kind: 'threshold',
      severity: 'major',
      value: 2,
      worstValue: 1,
      firstTime: '2014-03-10T00:00:00Z',
      raisedTime: '2014-03-10T00:01:00Z',
      lastTime: '2014-03-10T00:02:00Z',
      at: '2014-03-10T00:02:00Z',
      subject: '[MAJOR] raised: P low-psi',
      text: [
        'Alarm P.low-psi.20140310T000000Z raised at 2014-03-10T00:02:00Z.',
        'Pump P, rule low-psi (threshold), severity major.',
        'Value 2 (psi 2 < 5), worst 1; 3 offending reading(s).',
        'First 2014-03-10T00:00:00Z, raised 2014-03-10T00:01:00Z, last 2014-03-10T00:02:00Z.',
        'Acknowledge: wellwatch alarms ack P.low-psi.20140310T000000Z --by NAME [--note TEXT]',
      ].join('\n'),
    });
  });

  it('a cleared, closed alarm carries its cleared time and says it is closed; a value without detail has no parentheses', () => {
    const n = notificationOf(transition('cleared', { clearedTime: '2014-03-10T00:03:00Z', closed: true, condition: 'CLEARED' }));
    expect(n.subject).toBe('[MAJOR] cleared: P low-psi');
    expect(n.clearedTime).toBe('2014-03-10T00:03:00Z');
    expect(n.text.split('\n').slice(2)).toEqual([
      'Value 2, worst 1; 3 offending reading(s).',
      'First 2014-03-10T00:00:00Z, raised 2014-03-10T00:01:00Z, last 2014-03-10T00:02:00Z, cleared 2014-03-10T00:03:00Z.',
      'The alarm is closed.',
    ]);
  });

  it('an open alarm has no clearedTime key at all', () => {
    expect(Object.keys(notificationOf(transition('acknowledged')))).not.toContain('clearedTime');
  });

  it('a raised no-data alarm says "no data" in the subject and the minutes of silence in the text; its other transitions keep their type', () => {
    const raised = notificationOf(transition('raised', { kind: 'no-data', rule: 'no-data', lastValue: 45 }));
    expect(raised.subject).toBe('[MAJOR] no data: P no-data');
    expect(raised.text.split('\n')[2]).toBe('No reading since 2014-03-10T00:00:00Z (45 minutes of silence when detected).');
    expect(notificationOf(transition('cleared', { kind: 'no-data', rule: 'no-data' })).subject).toBe('[MAJOR] cleared: P no-data');
    expect(notificationOf(transition('raised', { kind: 'early-warning' })).subject).toBe('[MAJOR] raised: P low-psi');
  });

  it('cuts the subject to 100 characters (the SNS limit)', () => {
    const n = notificationOf(transition('raised', { rule: 'r'.repeat(200) }));
    expect(n.subject).toBe(`[MAJOR] raised: P ${'r'.repeat(82)}`);
  });
});

describe('createNotifier', () => {
  it('without a destination logs one JSON line per transition and tells onPublish', async () => {
    const lines: string[] = [];
    const seen: string[] = [];
    const notifier = createNotifier(cfgWith(), { log: (l) => lines.push(l), onPublish: (n) => seen.push(n.subject) });
    expect(notifier.description).toBe('log');
    await notifier.publish(transition('raised'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'INFO', message: 'alarm notification', ...notificationOf(transition('raised')) });
    expect(seen).toEqual(['[MAJOR] raised: P low-psi']);
  });

  it('a destination that is neither a file URL nor an ARN is only logged', async () => {
    const lines: string[] = [];
    const sns = { send: async () => Promise.reject(new Error('must not publish to SNS')) } as unknown as SNSClient;
    const notifier = createNotifier(cfgWith('https://example.com/hook'), { sns, log: (l) => lines.push(l) });
    expect(notifier.description).toBe('log');
    await notifier.publish(transition('raised'));
    expect(lines).toHaveLength(1);
  });

  it('without a destination or a log function prints to the console', async () => {
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await createNotifier(cfgWith()).publish(transition('raised'));
      expect(spy).toHaveBeenCalledTimes(1);
      expect(JSON.parse(spy.mock.calls[0]![0] as string)).toMatchObject({ message: 'alarm notification', subject: '[MAJOR] raised: P low-psi' });
    } finally {
      spy.mockRestore();
    }
  });

  it('with a file:// destination appends one JSON line per transition', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notifier-'));
    const file = path.join(dir, 'n.jsonl');
    const seen: string[] = [];
    const notifier = createNotifier(cfgWith(pathToFileURL(file).href), { onPublish: (n) => seen.push(n.type) });
    expect(notifier.description).toBe(file);
    await notifier.publish(transition('raised'));
    await notifier.publish(transition('cleared'));
    expect(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).type)).toEqual(['raised', 'cleared']);
    expect(seen).toEqual(['raised', 'cleared']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with a topic ARN publishes to that topic with subject, text plus JSON body, and severity/type attributes', async () => {
    const sent: any[] = [];
    const sns = { send: async (cmd: { input: unknown }) => void sent.push(cmd.input) } as unknown as SNSClient;
    const arn = 'arn:aws:sns:us-east-1:123456789012:alarms';
    const seen: string[] = [];
    const notifier = createNotifier(cfgWith(arn), { sns, onPublish: (n) => seen.push(n.subject) });
    expect(notifier.description).toBe(arn);
    await notifier.publish(transition('raised'));
    const n = notificationOf(transition('raised'));
    expect(sent).toEqual([
      {
        TopicArn: arn,
        Subject: '[MAJOR] raised: P low-psi',
        Message: `${n.text}\n\n${JSON.stringify(n)}`,
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'major' }, type: { DataType: 'String', StringValue: 'raised' } },
      },
    ]);
    expect(seen).toEqual(['[MAJOR] raised: P low-psi']);
  });

  it('a failed SNS publish rejects and does not tell onPublish (the transition stays in the outbox)', async () => {
    const sns = { send: async () => Promise.reject(new Error('throttled')) } as unknown as SNSClient;
    const seen: string[] = [];
    const notifier = createNotifier(cfgWith('arn:aws:sns:us-east-1:123456789012:alarms'), { sns, onPublish: (n) => seen.push(n.subject) });
    await expect(notifier.publish(transition('raised'))).rejects.toThrow('throttled');
    expect(seen).toEqual([]);
  });
});
