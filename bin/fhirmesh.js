#!/usr/bin/env node
// The `fhirmesh` command of a checkout: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
