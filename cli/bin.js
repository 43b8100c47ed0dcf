#!/usr/bin/env node
// `npx canary …`: runs cli/main.ts through tsx (no build step). The CLI needs Node >= 22.12 (as the project).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
