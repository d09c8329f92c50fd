import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SCOPES, folderOf, scopeConfig, score, summary, tallyReport } from '../../scripts/mutation';

const ROOT = path.resolve(__dirname, '../..');

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : []));
}

describe('mutation scopes', () => {
  test('mutate every file of the core, the store and the rollup, and the consumer handler, each exactly once', () => {
    const expected = [...tsFiles('lambdas/core'), ...tsFiles('lambdas/store'), ...tsFiles('lambdas/rollup'), 'lambdas/consumer/handler.ts'].sort();
    const mutated = SCOPES.flatMap((s) => s.files).sort();
    expect(mutated).toEqual(expected);
  });

  test('name test files and folders that exist, and scope names that are unique', () => {
    for (const s of SCOPES) for (const t of s.tests) expect(fs.existsSync(path.join(ROOT, t))).toBe(true);
    expect(new Set(SCOPES.map((s) => s.name)).size).toBe(SCOPES.length);
  });

  test('give Stryker a configuration it accepts: its own files and reports, and no ignoreStatic with coverage all', () => {
    // Stryker refuses to start with both: 'Config option "ignoreStatic" is not supported with coverage analysis "all"'.
    const generator = SCOPES.find((s) => s.name === 'core-generator')!;
    expect(scopeConfig(generator, 2)).toMatchObject({ coverageAnalysis: 'all', ignoreStatic: false, mutate: generator.files });
    for (const s of SCOPES) {
      const c = scopeConfig(s, 1);
      expect(c.coverageAnalysis === 'all' && c.ignoreStatic === true).toBe(false);
      expect(c).toMatchObject({ concurrency: 1, mutate: s.files, incrementalFile: `reports/mutation/${s.name}/incremental.json` });
    }
    expect(scopeConfig(SCOPES[0]!, 2)).toMatchObject({ coverageAnalysis: 'perTest', ignoreStatic: true });
  });
});

describe('mutation summary', () => {
  const report = (statuses: Record<string, string[]>) => ({
    files: Object.fromEntries(Object.entries(statuses).map(([f, st]) => [f, { mutants: st.map((status) => ({ status })) }])),
  });

  test('scores detected (killed + timed out) over valid mutants, leaving compile errors out', () => {
    const t = tallyReport(report({ 'lambdas/core/a.ts': ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'Ignored'] }));
    expect(t.get('lambdas/core/a.ts')).toEqual({ killed: 1, timeout: 1, survived: 1, noCoverage: 1, invalid: 2 });
    expect(score(t.get('lambdas/core/a.ts')!)).toBe(50);
    expect(score({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, invalid: 3 })).toBeUndefined();
  });

  test('adds the scopes of one folder together and marks scopes without a report', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-mutation-'));
    try {
      const scopes = [
        { name: 'one', files: [], tests: [] },
        { name: 'two', files: [], tests: [] },
        { name: 'three', files: [], tests: [] },
      ];
      fs.mkdirSync(path.join(dir, 'one'));
      fs.writeFileSync(path.join(dir, 'one', 'mutation.json'), JSON.stringify(report({ 'lambdas/core/a.ts': ['Killed', 'Killed', 'Killed', 'Survived'] })));
      fs.mkdirSync(path.join(dir, 'two'));
      fs.writeFileSync(
        path.join(dir, 'two', 'mutation.json'),
        JSON.stringify(report({ 'lambdas/core/detectors/b.ts': ['Survived'], 'lambdas/store/c.ts': ['Killed', 'NoCoverage'] })),
      );
      const text = summary(dir, scopes);
      expect(text).toContain('| one | 4 | 1 + 0 | 75.0 % |');
      expect(text).toContain('| two | 3 | 1 + 1 | 33.3 % |');
      expect(text).toContain('| three | not run | | |');
      expect(text).toContain('| lambdas/core | 5 | 60.0 % |');
      expect(text).toContain('| lambdas/store | 2 | 50.0 % |');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('counts a handler folder apart from the core and the store', () => {
    expect(folderOf('lambdas/core/detectors/explain.ts')).toBe('lambdas/core');
    expect(folderOf('lambdas/rollup/worker.ts')).toBe('lambdas/rollup');
  });
});

describe('npm run mutation, as a user runs it', () => {
  const run = (...args: string[]) => spawnSync('npm', ['run', '--silent', 'mutation', '--', ...args], { cwd: ROOT, encoding: 'utf8' });

  test('lists the scopes with their files and tests', () => {
    const r = run('--list', '--scope', 'parse');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('parse\n  mutate: lambdas/core/parse-reading.ts\n  tests:  test/lambdas/core/parse-reading.test.ts\n');
  });

  test('runs the scopes given in the order given, each once', () => {
    const r = run('--list', '--scope', 'kpl,parse,kpl');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => !l.startsWith(' ') && l !== '')).toEqual(['kpl', 'parse']);
  });

  test('refuses an unknown scope in one line with the known ones, exit 2', () => {
    const r = run('--scope', 'nope');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^wellwatch mutation: unknown scope nope; scopes: parse, kpl, /);
  });

  test('refuses a bad concurrency', () => {
    const r = run('--concurrency', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--concurrency must be a positive integer, got "0"');
  });
});
