#!/usr/bin/env node
// The `fhirmesh` operator CLI, compiled (dist/cli). In a checkout, dist/ is built first when missing or stale.
import { existsSync } from 'node:fs';

const checkoutBuild = new URL('../scripts/build.mjs', import.meta.url);
if (existsSync(checkoutBuild)) await import(checkoutBuild.href).then((build) => build.ensureBuilt());
await import('../dist/cli/main.js');
