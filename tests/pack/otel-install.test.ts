import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exec, pack, remove, tempDir, writeTree, type Exec } from './consumer.js';

/*
 * Issue 14: a project already on today's OpenTelemetry line (`@opentelemetry/api` 1.10) adds
 * @graylane/core, node and otel with a plain `npm install` — no --force, no --legacy-peer-deps —
 * and gets no ERESOLVE, one copy of the api, and working baggage helpers.
 */

let work: string;
let project: string;
let install: Exec;

beforeAll(async () => {
  work = tempDir('graylane-otel-install-');
  const tarballs = await pack(['@graylane/core', '@graylane/node', '@graylane/otel'], work);
  project = join(work, 'app');
  const dependencies: Record<string, string> = { '@opentelemetry/api': '1.10.0' };
  for (const t of tarballs) dependencies[t.name] = `file:${t.tarball}`;
  writeTree(project, {
    'package.json': { name: 'otel-current-app', private: true, type: 'commonjs', dependencies },
  });
  install = await exec('npm', ['install'], project, 540_000);
}, 600_000);

afterAll(() => {
  if (work) remove(work);
}, 120_000); // a whole consumer node_modules; slow on a loaded machine

it('plain npm install succeeds next to @opentelemetry/api 1.10 (no ERESOLVE)', () => {
  expect(install.stderr + install.stdout).not.toMatch(/ERESOLVE|peer dep|overriding peer/i);
  expect(install.code, install.stderr.slice(-3000)).toBe(0);
});

it('one copy of @opentelemetry/api (1.10), shared by the app, @graylane/node and @graylane/otel', () => {
  const api = JSON.parse(
    readFileSync(join(project, 'node_modules/@opentelemetry/api/package.json'), 'utf8'),
  ) as { version: string };
  expect(api.version).toBe('1.10.0');
  for (const pkg of ['core', 'node', 'otel']) {
    expect(
      existsSync(join(project, `node_modules/@graylane/${pkg}/node_modules/@opentelemetry`)),
    ).toBe(false);
  }
});

it('a request decided by the middleware carries the version in api 1.10 baggage; @graylane/otel reads it', async () => {
  const script = `
    const api = require('@opentelemetry/api');
    const { AsyncLocalStorage } = require('node:async_hooks');
    // A minimal context manager over AsyncLocalStorage (what sdk-node registers).
    const als = new AsyncLocalStorage();
    api.context.setGlobalContextManager({
      active: () => als.getStore() ?? api.ROOT_CONTEXT,
      with: (ctx, fn, thisArg, ...args) => als.run(ctx, () => fn.call(thisArg, ...args)),
      bind: (_ctx, target) => target,
      enable() { return this; },
      disable() { return this; },
    });
    const http = require('node:http');
    const { createGraylane } = require('@graylane/node');
    const { getGrayBaggage, setGrayBaggage } = require('@graylane/otel');
    const versions = ['stable', 'beta'];
    const gray = createGraylane({ config: { versions, default: 'stable' } });
    const server = http.createServer((req, res) =>
      gray.handle(req, res, () => res.end(String(getGrayBaggage(api.context.active(), { versions })))),
    );
    server.listen(0, '127.0.0.1', async () => {
      const url = 'http://127.0.0.1:' + server.address().port + '/';
      const inside = await (await fetch(url, { headers: { 'x-gray-id': 'beta' } })).text();
      const set = getGrayBaggage(setGrayBaggage(api.ROOT_CONTEXT, 'stable'), { versions });
      console.log(JSON.stringify({ inside, set }));
      server.close();
    });
  `;
  const r = await exec(process.execPath, ['-e', script], project, 30_000);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ inside: 'beta', set: 'stable' });
});
