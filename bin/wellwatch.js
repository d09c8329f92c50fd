#!/usr/bin/env node
// Entry point for the `wellwatch` CLI: registers the TypeScript loader, then runs bin/wellwatch.ts.

// The AWS SDK prints an 8-line notice on every run under Node 20 (it will need Node >= 22 from 2027). The CLI works
// on both; the README says so once instead of every command repeating it.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  if (String(text).includes('NodeVersionSupportWarning') || type === 'NodeVersionSupportWarning') return;
  return emitWarning.call(process, warning, ...rest);
};

require('tsx/cjs');
// Run explicitly: however npm links this script (node_modules/.bin, a global bin, npm link), it is the CLI.
require('./wellwatch.ts').run();
