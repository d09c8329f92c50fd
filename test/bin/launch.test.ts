/**
 * The CLI runs the same however it is launched: `npx wellwatch` in a clone, a global `wellwatch` after `npm link` or
 * `npm install -g .`, `node bin/wellwatch.js` and `npm run wellwatch --`.
 *
 * npm runs bins through links (`node_modules/.bin/wellwatch`, `<prefix>/bin/wellwatch`), so a launcher that decides
 * whether to run by looking at its own path can print nothing and exit 0. Each mode runs from a fresh copy of the
 * repository: a `git clone` of this checkout with the working tree's tracked and untracked (not ignored) files laid
 * over it, so the test covers uncommitted edits too, and the checkout's node_modules linked in. npm gets a fresh
 * cache directory and a temporary global prefix, so nothing of the developer's npm setup takes part. Every mode must
 * print the same non-empty help, the same errors and the same exit codes.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

let tmp: string;
let clone: string;
let prefixInstall: string;
let prefixLink: string;
let env: NodeJS.ProcessEnv;

/** Runs a command in the clone with the test's npm environment. */
function runIn(cwd: string, file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Copies the checkout's tracked and untracked (not ignored) working-tree files over a fresh clone. */
function freshClone(dest: string): void {
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO, dest], { stdio: 'ignore' });
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO }).toString().split('\0').filter(Boolean);
  for (const f of files) {
    const from = path.join(REPO, f);
    if (!fs.existsSync(from)) continue; // deleted in the working tree but not yet committed
    fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    fs.copyFileSync(from, path.join(dest, f));
    fs.chmodSync(path.join(dest, f), fs.statSync(from).mode);
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dest, 'node_modules'), 'dir');
}

/** The launch modes, each a function running the CLI with the given arguments. */
const MODES: Record<string, (args: string[]) => Promise<Outcome>> = {
  'node bin/wellwatch.js': (args) => runIn(clone, process.execPath, ['bin/wellwatch.js', ...args]),
  // --silent drops npm's own "> wellwatch@… wellwatch" banner; what remains is the CLI's output.
  'npm run wellwatch --': (args) => runIn(clone, 'npm', ['run', '--silent', 'wellwatch', '--', ...args]),
  'npx wellwatch': (args) => runIn(clone, 'npx', ['wellwatch', ...args]),
  'wellwatch after npm install -g .': (args) => runIn(clone, 'wellwatch', args, { PATH: `${path.join(prefixInstall, 'bin')}${path.delimiter}${env.PATH}` }),
  'wellwatch after npm link': (args) => runIn(clone, 'wellwatch', args, { PATH: `${path.join(prefixLink, 'bin')}${path.delimiter}${env.PATH}` }),
};

/** What each mode is asked to do. */
const CASES: Record<string, string[]> = {
  help: ['--help'],
  unknownCommand: ['nosuchcommand'],
  // Loads a command module through the TypeScript loader, so a mode that runs the launcher but cannot load cli/ fails.
  usageError: ['query', 'nonsense', '--local', '--data-dir', '.does-not-exist'],
};

const results = new Map<string, Map<string, Outcome>>();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-launch-'));
  clone = path.join(tmp, 'clone');
  prefixInstall = path.join(tmp, 'prefix-install');
  prefixLink = path.join(tmp, 'prefix-link');
  freshClone(clone);
  // A clean npm environment: none of the npm_* settings of an enclosing `npm test`, a fresh cache, no update check.
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  Object.assign(env, {
    npm_config_cache: path.join(tmp, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const install = await runIn(clone, 'npm', ['install', '--global', '.', '--prefix', prefixInstall]);
  expect(install).toMatchObject({ code: 0 });
  // `npm link --prefix` would take the prefix for the project directory; the global prefix comes from the config.
  const link = await runIn(clone, 'npm', ['link'], { npm_config_prefix: prefixLink });
  expect(link).toMatchObject({ code: 0 });
  // Two at a time: each run starts Node and the TypeScript loader, and the machine is shared.
  const jobs = Object.entries(MODES).flatMap(([mode, launch]) => Object.entries(CASES).map(([name, args]) => ({ mode, name, launch, args })));
  const next = async (): Promise<void> => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const outcome = await job.launch(job.args);
      if (!results.has(job.mode)) results.set(job.mode, new Map());
      results.get(job.mode)!.set(job.name, outcome);
    }
  };
  await Promise.all([next(), next()]);
}, 120_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** stderr without the AWS SDK's Node-version notice, which depends on the Node version and not on the launch mode. */
function own(stderr: string): string {
  return stderr.replace(/^.*NodeVersionSupportWarning[\s\S]*?--trace-warnings[^\n]*\n/m, '');
}

describe.each(Object.keys(MODES))('%s', (mode) => {
  it('prints the usage on --help and exits 0', () => {
    const r = results.get(mode)!.get('help')!;
    expect(r.stdout).toMatch(/^usage: wellwatch <command> \[options\]\n/);
    expect(r.stdout).toContain('wellwatch push <file…|->');
    expect(own(r.stderr)).toBe('');
    expect(r.code).toBe(0);
  });

  it('names an unknown command on stderr and exits 2', () => {
    const r = results.get(mode)!.get('unknownCommand')!;
    expect(own(r.stderr).split('\n')[0]).toBe('wellwatch: unknown command "nosuchcommand"');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  });

  it('loads a command and reports its usage error with exit 2', () => {
    const r = results.get(mode)!.get('usageError')!;
    expect(own(r.stderr)).toMatch(/^wellwatch query: expected one of readings\|alerts\|stats\|deadletters, got "nonsense"/);
    expect(r.code).toBe(2);
  });

  it('prints exactly what `node bin/wellwatch.js` prints, byte for byte', () => {
    const reference = results.get('node bin/wellwatch.js')!;
    for (const name of Object.keys(CASES)) {
      const r = results.get(mode)!.get(name)!;
      const ref = reference.get(name)!;
      expect({ name, code: r.code, stdout: r.stdout, stderr: own(r.stderr) }).toEqual({ name, code: ref.code, stdout: ref.stdout, stderr: own(ref.stderr) });
    }
  });
});
