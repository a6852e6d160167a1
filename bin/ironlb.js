#!/usr/bin/env node
// Entry point of the `ironlb` command; the code is compiled to dist/ by `npm run build`
// (run automatically by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error(`ironlb is not built: ${main} is missing. Run 'npm ci' (or 'npm run build') in the ironlb checkout.`);
  process.exit(1);
}
await import(pathToFileURL(main).href);
