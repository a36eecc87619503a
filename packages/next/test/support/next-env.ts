import { createRequire } from 'node:module';

// What `next start` sets up before it loads anything of Next (globalThis.AsyncLocalStorage):
// import this first, so Next's request storage is real in a test process.
createRequire(import.meta.url)('next/dist/server/node-environment-baseline.js');
