#!/usr/bin/env node
// Runs the TypeScript command line straight from a checkout: tsx compiles it as it loads, so
// `npx classroom …` works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/classroom.ts');
