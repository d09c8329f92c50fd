/**
 * `npm run scale` — the full-size scale run: a simulated fleet through local mode behind the partition-limit proxy,
 * across a midnight and through an alert storm; prints the report and saves it under bench/results/.
 *
 * usage: npm run scale -- [--reduced] [--pumps N] [--factor F] [--burst S] [--no-save]
 *
 * Exit code 0 when the run met the expectation of the key design it found (see expectations.ts): throttling on the
 * unsharded fleet-wide keys, none anywhere once they are sharded; 1 otherwise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL_SCENARIO, REDUCED_SCENARIO, formatReport, keyDesign, runScaleScenario, type ScaleScenario } from './scenario';
import { checkExpectations } from './expectations';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      reduced: { type: 'boolean' },
      pumps: { type: 'string' },
      factor: { type: 'string' },
      burst: { type: 'string' },
      'no-save': { type: 'boolean' },
    },
  });
  const base = values.reduced ? REDUCED_SCENARIO : FULL_SCENARIO;
  const pumps = values.pumps ? Number(values.pumps) : base.pumps;
  const scenario: ScaleScenario = {
    ...base,
    pumps,
    // Keep the 1,000,000-pump equivalence when only the pump count changes.
    factor: values.factor ? Number(values.factor) : values.pumps ? 1_000_000 / pumps : base.factor,
    ...(values.burst ? { burstSeconds: Number(values.burst) } : {}),
  };
  const report = await runScaleScenario(scenario, { log: (line) => console.error(line) });
  console.log(formatReport(report));
  const design = keyDesign(report);
  const problems = checkExpectations(report);
  console.log(`key design: day markers ${design.dayMarkers}, alertsByDay ${design.alertsByDay}`);
  console.log(problems.length === 0 ? 'expectations met' : `expectations NOT met:\n  ${problems.join('\n  ')}`);
  if (!values['no-save']) {
    const file = path.join(__dirname, '..', '..', 'bench', 'results', `scale-${scenario.name}-${design.dayMarkers === 'sharded' ? 'sharded' : 'today'}-${new Date().toISOString().slice(0, 10)}.json`);
    const { perSecond, ...lag } = report.lag;
    fs.writeFileSync(file, `${JSON.stringify({ machine: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`, design, problems, ...report, lag: { ...lag, perSecond: perSecond.map((ms) => Math.round(ms)) } }, null, 1)}\n`);
    console.log(`saved ${path.relative(process.cwd(), file)}`);
  }
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(2);
  },
);
