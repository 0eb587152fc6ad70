#!/usr/bin/env node
// Puts the configuration reference (config/reference.ts, from the schema)
// into README.md between its markers. Run after `npm run build:ts`; a unit
// test (test/unit/configReference.test.ts) fails when the README is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { configReference, withReference } = await import(join(root, 'dist/config/reference.js'));
const readme = join(root, 'README.md');
writeFileSync(readme, withReference(readFileSync(readme, 'utf8'), configReference()));
