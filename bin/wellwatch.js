#!/usr/bin/env node
// Entry point for the `wellwatch` CLI: registers the TypeScript loader, then runs bin/wellwatch.ts.
require('tsx/cjs');
require('./wellwatch.ts');
