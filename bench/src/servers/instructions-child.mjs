// One request shape, N times, for instruction counting (suites/instructions.mjs runs this under
// valgrind's callgrind): `node instructions-child.mjs <plain|express|koa> <bare|header|rules> <N>`.
// Each request is a real IncomingMessage / ServerResponse pair with Node's own `finish` listener;
// `express` swaps both prototypes and adds the properties express adds, the way express 5 does
// before any middleware; `koa` adds the response listeners on-finished adds before koa's
// middleware runs (ee-first's, on `end` and `finish`, removed when one fires), which graylane
// finds already there when it decides; the handler runs bare or under `gray.handle`, and then the events Node
// emits for a finished GET (`end`, `close`, `prefinish`, `finish`, `close`) are emitted from the
// root async context, as Node emits them from the socket's.
import http from 'node:http';
import { Socket } from 'node:net';
import { AsyncResource } from 'node:async_hooks';
import { createGraylane } from '@graylane/node';
import { rulesDocument } from '../lib/fixtures.mjs';

const [shape, candidate, count] = process.argv.slice(2);
const N = Number(count);
const config = rulesDocument(10);
const attributes = (req) => ({ userId: req.headers['x-user-id'], plan: 'free' });
const gray =
  candidate === 'bare'
    ? undefined
    : createGraylane(
        candidate === 'rules'
          ? { config, markers: { header: 'x-not-sent' }, attributes }
          : { config, attributes },
      );
const socket = new Socket();
const appRequest = Object.create(http.IncomingMessage.prototype);
const appResponse = Object.create(http.ServerResponse.prototype);
const ROOT = new AsyncResource('instructions-root');
function resOnFinish() {}
let sink = 0;
const handler = () => {
  sink++;
};

function one() {
  const req = new http.IncomingMessage(socket);
  req.headers = { host: '127.0.0.1:3000', 'x-gray-id': 'beta', 'x-user-id': 'user-4711' };
  req.url = '/';
  req.method = 'GET';
  const res = new http.ServerResponse(req);
  res.on('finish', resOnFinish.bind(undefined));
  if (shape === 'express') {
    Object.setPrototypeOf(req, appRequest);
    Object.setPrototypeOf(res, appResponse);
    req.res = res;
    res.locals = {};
    req.next = handler;
    req.originalUrl = req.url;
    req.params = {};
  }
  if (shape === 'koa') {
    const onevent = function onevent() {
      res.removeListener('end', onevent);
      res.removeListener('finish', onevent);
    };
    res.on('end', onevent);
    res.on('finish', onevent);
  }
  if (gray) gray.handle(req, res, handler);
  else handler();
  ROOT.runInAsyncScope(() => {
    req.emit('end');
    req.emit('close');
    res.emit('prefinish');
    res.emit('finish');
    res.emit('close');
  });
}

for (let i = 0; i < N; i++) one();
if (sink !== N) throw new Error(`ran ${sink} of ${N}`);
