/**
 * Rewrites the `wellwatch plan` outputs shown in README.md ("Sizing a fleet") with what the command prints today.
 *
 * Run from the repository root after changing a sizing constant, a price or a key layout:
 * `node bin/run-ts.js scripts/update-readme-plans.ts`. Each README block starting with `$ npx wellwatch plan …` is
 * replaced by the output of that very command line; test/cli/plan.test.ts fails until the README matches.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bufferedIO } from '../cli/io';
import { planCommand } from '../cli/plan';

const BLOCK = /```text\n\$ npx wellwatch plan ([^\n]*)\n[\s\S]*?\n```/g;

async function main(): Promise<void> {
  const file = path.resolve(__dirname, '../README.md');
  const readme = fs.readFileSync(file, 'utf8');
  const outputs = new Map<string, string>();
  for (const [, args] of readme.matchAll(BLOCK)) {
    const io = bufferedIO();
    const code = await planCommand(args!.split(' '), io);
    if (code !== 0) throw new Error(`wellwatch plan ${args} exited ${code}: ${io.errLines.join(' ')}`);
    outputs.set(args!, io.outLines.join('\n').trimEnd());
  }
  const updated = readme.replace(BLOCK, (_block, args: string) => `\`\`\`text\n$ npx wellwatch plan ${args}\n${outputs.get(args)}\n\`\`\``);
  fs.writeFileSync(file, updated);
  process.stdout.write(`${outputs.size} plan outputs ${updated === readme ? 'already up to date' : 'rewritten'} in README.md\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`update-readme-plans: ${(e as Error).message}\n`);
  process.exit(1);
});
