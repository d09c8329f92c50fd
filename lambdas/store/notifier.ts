/**
 * Where alarm notifications go: an SNS topic in AWS, a JSONL file in local mode, or the log when neither is set.
 *
 * One message per transition (raised, cleared, latched, acknowledged, shelved, unshelved), never per reading. The
 * alarm store calls {@link Notifier.publish} only after claiming the transition's marker, so a retried transition is
 * not published twice.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { WellwatchConfig } from '../config';
import type { Transition } from '../core/alarm-state';
import { clientSettings } from './clients';

/** A notification as sent (SNS message body, JSONL line). */
export interface AlarmNotification {
  readonly transition: string;
  readonly type: Transition['type'];
  readonly alarm: string;
  readonly pump: string;
  readonly rule: string;
  readonly kind: string;
  readonly severity: string;
  readonly value: number;
  readonly worstValue: number;
  readonly firstTime: string;
  readonly raisedTime: string;
  readonly lastTime: string;
  readonly clearedTime?: string;
  readonly at: string;
  readonly subject: string;
  readonly text: string;
}

/** Publishes notifications. */
export interface Notifier {
  readonly description: string;
  /** @throws on failure (the transition stays in the outbox and is retried). */
  publish(t: Transition): Promise<void>;
}

/**
 * The notification of a transition: a subject line and a text naming pump, rule, severity, value, times and how to
 * acknowledge.
 *
 * @example
 * notificationOf(t).subject; // → '[MAJOR] raised: COHUTTA low-psi'
 */
export function notificationOf(t: Transition): AlarmNotification {
  const a = t.alarm;
  const subject = `[${a.severity.toUpperCase()}] ${a.kind === 'no-data' && t.type === 'raised' ? 'no data' : t.type}: ${a.pump} ${a.rule}`.slice(0, 100);
  const lines = [
    `Alarm ${a.id} ${t.type} at ${t.at}.`,
    `Pump ${a.pump}, rule ${a.rule} (${a.kind}), severity ${a.severity}.`,
    a.kind === 'no-data'
      ? `No reading since ${a.firstTime} (${a.lastValue} minutes of silence when detected).`
      : `Value ${a.lastValue}${a.detail ? ` (${a.detail})` : ''}, worst ${a.worstValue}; ${a.count} offending reading(s).`,
    `First ${a.firstTime}, raised ${a.raisedTime}, last ${a.lastTime}${a.clearedTime ? `, cleared ${a.clearedTime}` : ''}.`,
    a.closed ? 'The alarm is closed.' : `Acknowledge: wellwatch alarms ack ${a.id} --by NAME [--note TEXT]`,
  ];
  return {
    transition: t.id,
    type: t.type,
    alarm: a.id,
    pump: a.pump,
    rule: a.rule,
    kind: a.kind,
    severity: a.severity,
    value: a.lastValue,
    worstValue: a.worstValue,
    firstTime: a.firstTime,
    raisedTime: a.raisedTime,
    lastTime: a.lastTime,
    ...(a.clearedTime !== undefined ? { clearedTime: a.clearedTime } : {}),
    at: t.at,
    subject,
    text: lines.join('\n'),
  };
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /** @default - an SNS client from the config */
  readonly sns?: SNSClient;
  /** Also called with every notification published (local mode prints one line). */
  readonly onPublish?: (n: AlarmNotification) => void;
  /** Where notifications go when no destination is configured. @default - `console.log` */
  readonly log?: (line: string) => void;
}

/**
 * The notifier for `cfg.alarms.notifications`: an SNS topic ARN, a `file://…jsonl` path, or nothing (log only).
 *
 * @example
 * const notifier = createNotifier(cfg, { onPublish: (n) => console.log(n.subject) });
 */
export function createNotifier(cfg: WellwatchConfig, options: NotifierOptions = {}): Notifier {
  const target = cfg.alarms.notifications;
  const after = (n: AlarmNotification) => options.onPublish?.(n);
  if (target?.startsWith('file:')) {
    const file = fileURLToPath(target);
    return {
      description: file,
      async publish(t) {
        const n = notificationOf(t);
        await fs.promises.appendFile(file, `${JSON.stringify(n)}\n`);
        after(n);
      },
    };
  }
  if (target?.startsWith('arn:')) {
    let sns = options.sns;
    return {
      description: target,
      async publish(t) {
        const n = notificationOf(t);
        sns ??= new SNSClient(clientSettings(cfg, undefined, {}, 3));
        await sns.send(
          new PublishCommand({
            TopicArn: target,
            Subject: n.subject,
            Message: `${n.text}\n\n${JSON.stringify(n)}`,
            MessageAttributes: { severity: { DataType: 'String', StringValue: n.severity }, type: { DataType: 'String', StringValue: n.type } },
          }),
        );
        after(n);
      },
    };
  }
  const log = options.log ?? ((line: string) => console.log(line));
  return {
    description: 'log',
    async publish(t) {
      const n = notificationOf(t);
      log(JSON.stringify({ level: 'INFO', message: 'alarm notification', ...n }));
      after(n);
    },
  };
}
