#!/usr/bin/env node
// Runs a TypeScript file with the repo's loader: `node bin/run-ts.js path/to/file.ts [args…]`.
const path = require('node:path');
require('tsx/cjs');
const file = process.argv[2];
if (!file) {
  console.error('usage: node bin/run-ts.js <file.ts> [args…]');
  process.exit(2);
}
process.argv.splice(1, 2, path.resolve(file));
require(path.resolve(file));
