/**
 * Writes the sample data under `sample-data/`: a generated feed, a file of bad lines, and a README describing both.
 *
 * Run from the repository root: `node bin/run-ts.js scripts/generate-sample-data.ts`. The output is deterministic,
 * so re-running it leaves the files unchanged. The script checks its own output with the real parser and exits
 * non-zero if a generated line is rejected or a bad line is not rejected the way its comment says.
 */
import { createWriteStream, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import { degradationEpisodes, generateReadings, pumpName } from '../lambdas/core/generator';
import { truthCsv } from '../cli/generate';
import { parseLine, PARSE_ERROR_CODES, type ParseErrorCode } from '../lambdas/core/parse-reading';
import { DEFAULT_ALERT_RULES, LIMITS } from '../lambdas/config';
import { compileRules } from '../lambdas/core/rules';

const OUT_DIR = path.resolve(__dirname, '..', 'sample-data');
const READINGS_FILE = 'readings-10-pumps-5-days.csv';
const BAD_FILE = 'bad-lines.csv';
const TRUTH_FILE = 'degradations.csv';
const GENERATOR = { pumps: 10, days: 5, seed: 42 } as const;

// ISO date and seconds (what newer sensors send); at 00:00:30 it cannot collide with the generator's whole minutes,
// so it adds one reading instead of overwriting one.
const GOOD = 'COHUTTA,2014-03-10,00:00:30,10.27,1.73,881,1.56,85,1.94';

/** What the parser must make of each line of bad-lines.csv. */
type Expected = ParseErrorCode | 'skip' | 'reading';

/** A header, one good line for contrast, blank lines, and one line per way the parser rejects input. */
const BAD_LINES: readonly { line: string; expect: Expected }[] = [
  { line: 'pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM', expect: 'skip' },
  { line: GOOD, expect: 'reading' },
  { line: 'COHUTTA,3/10/14,1:02,10.27,1.73,881,1.56,85', expect: 'field-count' },
  { line: 'COHUTTA,3/10/14,1:03,10.27,1.73,881,1.56,85,1.94,7.5', expect: 'field-count' },
  { line: 'COHUTTA 3/10/14 1:04 10.27 1.73 881 1.56 85 1.94', expect: 'field-count' },
  { line: '', expect: 'skip' },
  { line: ',3/10/14,1:05,10.27,1.73,881,1.56,85,1.94', expect: 'pump-id' },
  { line: 'COHUTTA#1,3/10/14,1:06,10.27,1.73,881,1.56,85,1.94', expect: 'pump-id' },
  { line: `${'P'.repeat(65)},3/10/14,1:07,10.27,1.73,881,1.56,85,1.94`, expect: 'pump-id' },
  { line: 'COHUTTA,2/30/14,1:08,10.27,1.73,881,1.56,85,1.94', expect: 'date' },
  { line: 'COHUTTA,2/29/15,1:09,10.27,1.73,881,1.56,85,1.94', expect: 'date' },
  { line: 'COHUTTA,13/10/14,1:10,10.27,1.73,881,1.56,85,1.94', expect: 'date' },
  { line: 'COHUTTA,March 10,1:11,10.27,1.73,881,1.56,85,1.94', expect: 'date' },
  { line: 'COHUTTA,3/10/14,24:00,10.27,1.73,881,1.56,85,1.94', expect: 'time' },
  { line: 'COHUTTA,3/10/14,1:60,10.27,1.73,881,1.56,85,1.94', expect: 'time' },
  { line: 'COHUTTA,3/10/14,1pm,10.27,1.73,881,1.56,85,1.94', expect: 'time' },
  { line: '   ', expect: 'skip' },
  { line: 'COHUTTA,3/10/14,1:14,abc,1.73,881,1.56,85,1.94', expect: 'number' },
  { line: 'COHUTTA,3/10/14,1:15,10.27,,881,1.56,85,1.94', expect: 'number' },
  { line: 'COHUTTA,3/10/14,1:16,10.27,1.73,8 81,1.56,85,1.94', expect: 'number' },
  { line: 'COHUTTA,3/10/14,1:17,10.27,1.73,881,1.2.3,85,1.94', expect: 'number' },
  { line: 'COHUTTA,3/10/14,1:18,10.27,1.73,881,1.56,NaN,1.94', expect: 'number' },
  { line: 'COHUTTA,3/10/14,1:19,10.27,1.73,881,1.56,85,Infinity', expect: 'number' },
  { line: 'COHUTTA,3/10/14,1:20,10.27,1.73,1e12,1.56,85,1.94', expect: 'range' },
  { line: 'COHUTTA,3/10/14,1:21,10.27,1.73,881,1e-12,85,1.94', expect: 'range' },
  { line: 'COHUTTA,3/10/14,1:22,10.27\t,1.73,881,1.56,85,1.94', expect: 'control-char' },
  { line: `COHUTTA,3/10/14,1:23,10.27,1.73,881,1.56,85,1.94${'0'.repeat(1000)}`, expect: 'too-long' },
];

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function writeReadings(file: string): Promise<{ lines: number; alerting: number; failed: number; bytes: number }> {
  const out = createWriteStream(file);
  const rules = compileRules(DEFAULT_ALERT_RULES);
  let lines = 0;
  let alerting = 0;
  let failed = 0;
  let chunk = '';
  for (const line of generateReadings(GENERATOR)) {
    const o = parseLine(line);
    if (o.kind !== 'reading') throw new Error(`generator produced a line the parser rejects: ${line}`);
    const v = o.reading.values;
    if (rules(v).length > 0) alerting++;
    if (v.hz === 0 && v.disp === 0 && v.flo === 0 && v.psi === 0) failed++;
    lines++;
    chunk += line + '\n';
    if (chunk.length > 64 * 1024) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { lines, alerting, failed, bytes: statSync(file).size };
}

function writeBadLines(file: string): { lines: number; bytes: number; table: string[]; notes: string } {
  const cases = BAD_LINES;
  const table: string[] = [];
  cases.forEach(({ line, expect }, i) => {
    const o = parseLine(line);
    const got = o.kind === 'error' ? o.code : o.kind;
    if (got !== expect) throw new Error(`bad-lines case ${i + 1} expected ${expect}, parser said ${got}: ${JSON.stringify(line)}`);
    const shown = line.length > 60 ? `${line.slice(0, 57)}… (${line.length} chars)` : line;
    const why = o.kind === 'error' ? o.reason : o.kind === 'skip' ? (line.trim() === '' ? 'blank line' : 'header line') : 'valid reading';
    table.push(`| ${i + 1} | \`${shown.replace(/\t/g, '\\t').replace(/\|/g, '\\|') || ' '}\` | ${got} | ${why.replace(/\|/g, '\\|')} |`);
  });
  const codes = new Set(cases.map((c) => c.expect));
  const missing = Object.values(PARSE_ERROR_CODES).filter((c) => !codes.has(c));
  if (missing.length > 0) throw new Error(`bad-lines.csv has no case for parser codes: ${missing.join(', ')}`);
  writeFileSync(file, cases.map((c) => c.line + '\n').join(''));
  const lineOf = (code: Expected): number => cases.findIndex((c) => c.expect === code) + 1;
  const notes = `Line ${lineOf('too-long')} is longer than the ${LIMITS.maxLineBytes}-byte line limit; line ${lineOf('control-char')} contains a tab.`;
  return { lines: cases.length, bytes: statSync(file).size, table, notes };
}

async function main(): Promise<void> {
  const readings = await writeReadings(path.join(OUT_DIR, READINGS_FILE));
  const bad = writeBadLines(path.join(OUT_DIR, BAD_FILE));
  const episodes = degradationEpisodes(GENERATOR);
  writeFileSync(path.join(OUT_DIR, TRUTH_FILE), truthCsv(episodes));
  const pumps = Array.from({ length: GENERATOR.pumps }, (_, i) => pumpName(i));
  const readme = `# Sample data

Generated by \`scripts/generate-sample-data.ts\`; do not edit by hand. Regenerate (deterministic, same bytes) with

\`\`\`sh
node bin/run-ts.js scripts/generate-sample-data.ts
\`\`\`

Both files use the seed's CSV format, no header: \`pump,M/D/YY,H:MM,hz,disp,flo,sedPPM,psi,chlPPM\`.

## ${READINGS_FILE}

${GENERATOR.pumps} pumps × ${GENERATOR.days} days from 2014-03-10, seed ${GENERATOR.seed}, no bad lines:
\`generateReadings({ pumps: ${GENERATOR.pumps}, days: ${GENERATOR.days}, seed: ${GENERATOR.seed} })\` from
\`lambdas/core/generator.ts\`.

- ${readings.lines.toLocaleString('en-US')} lines, ${readings.bytes.toLocaleString('en-US')} bytes (${describeBytes(readings.bytes)})
- pumps: ${pumps.join(', ')}
- one reading per pump every 1–2 minutes, in time order across pumps
- ${readings.failed.toLocaleString('en-US')} readings during pump failures (hz, disp, flo and psi all 0) and
  ${readings.alerting.toLocaleString('en-US')} readings that trip the default \`psi < 5\` alert (failures plus low-pressure blips)
- a daily demand cycle in flo and disp on every pump
- ${episodes.length} degradation episodes before a failure, listed in \`${TRUTH_FILE}\` (ground truth: pump, kind, start,
  failure, repaired, depth): ${episodes.map((e) => `${e.pump} ${e.kind} ${e.start} → ${e.failure}`).join('; ') || 'none'}

## ${BAD_FILE}

${bad.lines} lines, ${bad.bytes.toLocaleString('en-US')} bytes: one valid line for contrast, a header and blank lines (skipped, not
dead-lettered), and one line for each way the parser rejects input. The script checks every line against
\`parseLine\` when it runs. ${bad.notes}

| # | line | outcome | reason |
|---|------|---------|--------|
${bad.table.join('\n')}
`;
  writeFileSync(path.join(OUT_DIR, 'README.md'), readme);
  console.log(
    `${READINGS_FILE}: ${readings.lines} lines, ${readings.bytes} bytes; ${BAD_FILE}: ${bad.lines} lines, ${bad.bytes} bytes`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
