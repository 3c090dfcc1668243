#!/usr/bin/env node
// fdft is written in TypeScript and runs through tsx's loader, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
