/**
 * An independent reading of generator output, for checking what the pipeline stored.
 *
 * Deliberately shares no code with the project's parser: plain splitting and regular expressions over the seed
 * format the generator writes (`PUMP,M/D/YY,H:MM,6 decimals`), and plain sequential sums for daily statistics.
 */

/** What one good seed line must become. */
export interface ExpectedReading {
  readonly pump: string;
  readonly day: string;
  /** `HH:MM:SS` */
  readonly time: string;
  readonly ts: string;
  /** hz, disp, flo, sedPPM, psi, chlPPM */
  readonly values: readonly number[];
  /** psi < 5 (the default rule). */
  readonly alert: boolean;
}

const two = (n: number): string => String(n).padStart(2, '0');
const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * The reading a seed-format line stands for, or `undefined` when the line is malformed.
 *
 * @example
 * expectSeedLine('COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94')?.ts; // '2014-03-10T01:01:00Z'
 */
export function expectSeedLine(line: string): ExpectedReading | undefined {
  const f = line.split(',');
  if (f.length !== 9 || !/^[A-Za-z0-9_-]{1,64}$/.test(f[0]!)) return undefined;
  const d = /^(\d{1,2})\/(\d{1,2})\/(\d{2})$/.exec(f[1]!);
  const t = /^(\d{1,2}):(\d{2})$/.exec(f[2]!);
  if (!d || !t) return undefined;
  const [m, day, y] = [Number(d[1]), Number(d[2]), 2000 + Number(d[3])];
  const date = new Date(Date.UTC(y, m - 1, day));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== day) return undefined;
  const [h, mi] = [Number(t[1]), Number(t[2])];
  if (h > 23 || mi > 59) return undefined;
  if (!f.slice(3).every((v) => NUMBER.test(v))) return undefined;
  const values = f.slice(3).map(Number);
  const iso = `${y}-${two(m)}-${two(day)}`;
  const time = `${two(h)}:${two(mi)}:00`;
  return { pump: f[0]!, day: iso, time, ts: `${iso}T${time}Z`, values, alert: values[4]! < 5 };
}

/** Expected content of a run: good readings by `pump#ts` (last line wins), bad lines, and per pump-day stats. */
export interface ExpectedRun {
  readonly readings: Map<string, ExpectedReading>;
  readonly badLines: string[];
  readonly alerts: number;
  /** `pump#day` → count, and per measure min/max/sum. */
  readonly stats: Map<string, { count: number; min: number[]; max: number[]; sum: number[] }>;
}

/**
 * Expected tables after ingesting `lines` and rolling up every day.
 *
 * @example
 * const expected = expectRun(lines);
 * expect(storedReadings).toHaveLength(expected.readings.size);
 */
export function expectRun(lines: readonly string[]): ExpectedRun {
  const readings = new Map<string, ExpectedReading>();
  const badLines: string[] = [];
  for (const line of lines) {
    const r = expectSeedLine(line);
    if (r) readings.set(`${r.pump}#${r.ts}`, r);
    else badLines.push(line);
  }
  const stats = new Map<string, { count: number; min: number[]; max: number[]; sum: number[] }>();
  let alerts = 0;
  for (const r of readings.values()) {
    if (r.alert) alerts++;
    const key = `${r.pump}#${r.day}`;
    let s = stats.get(key);
    if (!s) {
      s = { count: 0, min: r.values.map(() => Infinity), max: r.values.map(() => -Infinity), sum: r.values.map(() => 0) };
      stats.set(key, s);
    }
    s.count++;
    r.values.forEach((v, i) => {
      s!.min[i] = Math.min(s!.min[i]!, v);
      s!.max[i] = Math.max(s!.max[i]!, v);
      s!.sum[i] += v;
    });
  }
  return { readings, badLines, alerts, stats };
}
