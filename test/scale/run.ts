/**
 * `npm run scale` — the full-size scale runs: a simulated fleet through local mode behind the partition-limit
 * proxy, across a midnight and through an alert storm (two runs, see FULL_SCENARIOS); prints each report and saves
 * them under bench/results/.
 *
 * usage: npm run scale -- [--reduced] [--only NAME] [--pumps N] [--factor F] [--burst S] [--no-save]
 *
 * Exit code 0 when every run met the expectation of the key design it found (see expectations.ts): throttling on
 * the unsharded fleet-wide keys, none anywhere once they are sharded; 1 otherwise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL_SCENARIOS, REDUCED_SCENARIO, formatReport, keyDesign, runScaleScenario, type ScaleScenario } from './scenario';
import { checkExpectations } from './expectations';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      reduced: { type: 'boolean' },
      only: { type: 'string' },
      pumps: { type: 'string' },
      factor: { type: 'string' },
      burst: { type: 'string' },
      'no-save': { type: 'boolean' },
    },
  });
  const bases = (values.reduced ? [REDUCED_SCENARIO] : FULL_SCENARIOS).filter((s) => values.only === undefined || s.name === values.only);
  if (bases.length === 0) throw new Error(`no scenario named ${values.only}`);
  const runs = [];
  let failed = false;
  for (const base of bases) {
    const pumps = values.pumps ? Number(values.pumps) : base.pumps;
    const scenario: ScaleScenario = {
      ...base,
      pumps,
      // Keep the 1,000,000-pump equivalence when only the pump count changes.
      factor: values.factor ? Number(values.factor) : values.pumps ? 1_000_000 / pumps : base.factor,
      ...(values.burst ? { burstSeconds: Number(values.burst) } : {}),
    };
    const report = await runScaleScenario(scenario, { log: (line) => console.error(line) });
    const design = keyDesign(report);
    const problems = checkExpectations(report);
    console.log(formatReport(report));
    console.log(`key design: day markers ${design.dayMarkers}, alertsByDay ${design.alertsByDay}`);
    console.log(problems.length === 0 ? 'expectations met\n' : `expectations NOT met:\n  ${problems.join('\n  ')}\n`);
    failed ||= problems.length > 0;
    const { perSecond, ...lag } = report.lag;
    // Families with throttling or above half their limit; the thousands of per-pump families only as a count.
    const notable = report.families.filter((f) => f.throttledRequests > 0 || f.peakDemandPerSecond > f.limit / 2);
    runs.push({
      design,
      problems,
      ...report,
      families: notable,
      otherFamilies: report.families.length - notable.length,
      lag: { ...lag, perSecondMaxIteratorAgeMs: perSecond.map((ms) => Math.round(ms)) },
    });
  }
  if (!values['no-save']) {
    const sharded = runs.every((r) => r.design.dayMarkers !== 'single' && r.design.alertsByDay !== 'single');
    const name = `scale-${values.only ?? (values.reduced ? 'reduced' : 'full')}-${sharded ? 'sharded' : 'today'}-${new Date().toISOString().slice(0, 10)}.json`;
    const file = path.join(__dirname, '..', '..', 'bench', 'results', name);
    fs.writeFileSync(file, `${JSON.stringify({ machine: `${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}`, loadAverage: os.loadavg(), runs }, null, 1)}\n`);
    console.log(`saved ${path.relative(process.cwd(), file)}`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(2);
  },
);
