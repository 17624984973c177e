#!/usr/bin/env node
// Runs the TypeScript command line straight from a checkout: tsx compiles it as it loads, so
// `npx classroom-sim …` works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/classroom-sim.ts');
await main(process.argv);
