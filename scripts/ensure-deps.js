#!/usr/bin/env node
// Installs dependencies with `npm ci` when node_modules is missing or older than package-lock.json,
// so `npm run demo` and `npm test` work on a fresh clone with nothing installed.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const marker = path.join(root, 'node_modules', '.package-lock.json');
const lock = path.join(root, 'package-lock.json');
const stale = !fs.existsSync(marker) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(marker).mtimeMs + 1000);
if (stale) {
  console.error('wellwatch: installing dependencies (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`wellwatch: npm ci failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
}
