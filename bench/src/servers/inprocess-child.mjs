// graylane's in-process cost per request, measured in one child process per Node version
// (suites/inprocess.mjs forks it): `gray.handle(req, res, handler)` around a no-op handler, on
// a fresh real `IncomingMessage` / `ServerResponse` pair per call (what node:http hands a
// server), against the same loop with the handler called directly. No network, no HTTP parsing:
// the difference is graylane's work for one request (decide, bind the context, run). Rounds
// interleave the candidates; reported: the median per-round difference in ns, and its range.
import http from 'node:http';
import { Socket } from 'node:net';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createGraylane } from '@graylane/node';
import { rulesDocument } from '../lib/fixtures.mjs';

const rounds = Number(process.argv[2] ?? 9);
const perRound = Number(process.argv[3] ?? 50_000);
const config = rulesDocument(10);
const attributes = (req) => ({ userId: req.headers['x-user-id'], plan: 'free' });
const header = createGraylane({ config, attributes });
const rules = createGraylane({ config, markers: { header: 'x-not-sent' }, attributes });
const als = new AsyncLocalStorage();
const socket = new Socket();
const HEADERS = ['Host', '127.0.0.1:3000', 'x-gray-id', 'beta', 'x-user-id', 'user-4711'];

function request() {
  const req = new http.IncomingMessage(socket);
  req.rawHeaders = HEADERS.slice();
  req.headers = { host: '127.0.0.1:3000', 'x-gray-id': 'beta', 'x-user-id': 'user-4711' };
  req.method = 'GET';
  req.url = '/';
  return req;
}

let sink = 0;
const handler = () => {
  sink++;
};
const candidates = {
  bare: (req, res) => handler(req, res),
  als: (req) => als.run({ req }, handler),
  header: (req, res) => header.handle(req, res, handler),
  rules: (req, res) => rules.handle(req, res, handler),
};

function time(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < perRound; i++) {
    const req = request();
    fn(req, new http.ServerResponse(req));
  }
  return Number(process.hrtime.bigint() - start) / perRound;
}

const names = Object.keys(candidates);
for (const name of names) time(candidates[name]); // warm-up
const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < rounds; r++)
  for (const name of r % 2 ? [...names].reverse() : names)
    samples[name].push(time(candidates[name]));
process.send?.({ node: process.version, samples, sink });
