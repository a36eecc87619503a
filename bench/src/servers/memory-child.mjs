// Memory child (run with --expose-gc and a large young generation): an in-process node:http
// server, bare or with graylane, driven by a keep-alive client in the same process. Reports
// heap after GC at request counts, and bytes allocated per request (heap growth over a batch
// during which no GC ran), as JSON over IPC.
import http from 'node:http';
import net from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { createGraylane } from '@graylane/node';
import { rulesDocument } from '../lib/fixtures.mjs';

const { counts, allocBatches, allocBatchSize } = JSON.parse(process.argv[2]);
const CONCURRENCY = 32;
const gcStarts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcStarts.push(e.startTime);
}).observe({ entryTypes: ['gc'] });

function startServer(withGraylane) {
  const gray = createGraylane({
    config: rulesDocument(10),
    attributes: (req) => ({ userId: req.headers['x-user-id'], plan: 'free' }),
  });
  const reply = (res) => res.end('ok');
  const server = http.createServer(
    withGraylane ? (req, res) => gray.handle(req, res, () => reply(res)) : (req, res) => reply(res),
  );
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port })),
  );
}

/**
 * A lean keep-alive client on raw sockets (node's http client costs more than the server under
 * test): CONCURRENCY connections, one request in flight on each, responses counted by status line.
 */
function driver(port) {
  const VARIANTS = 1_000;
  // Half the requests carry a marker, half are decided by the rules on a varying user id.
  const requests = Array.from({ length: VARIANTS }, (_, i) =>
    Buffer.from(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx-user-id: user-${i * 7919}\r\n` +
        (i % 2 === 0 ? 'x-gray-id: beta\r\n' : '') +
        '\r\n',
    ),
  );
  const STATUS = 'HTTP/1.1 200';
  let seq = 0;
  const sockets = Array.from({ length: CONCURRENCY }, () => net.connect(port, '127.0.0.1'));
  const send = (n) =>
    new Promise((resolve, reject) => {
      let left = n;
      let inFlight = 0;
      const next = (socket) => {
        if (left === 0) {
          if (inFlight === 0) resolve();
          return;
        }
        left--;
        inFlight++;
        socket.write(requests[seq++ % VARIANTS]);
      };
      for (const socket of sockets) {
        let tail = '';
        socket.removeAllListeners('data');
        socket.removeAllListeners('error');
        socket.on('error', reject);
        socket.on('data', (chunk) => {
          const text = tail + chunk.toString('latin1');
          let at = text.indexOf(STATUS);
          while (at !== -1) {
            inFlight--;
            next(socket);
            at = text.indexOf(STATUS, at + STATUS.length);
          }
          tail = text.slice(-STATUS.length + 1);
        });
        next(socket);
      }
    });
  return { send, close: () => sockets.forEach((s) => s.destroy()) };
}

const settle = () => new Promise((r) => setImmediate(r));
async function heapAfterGc() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await settle();
  }
  return process.memoryUsage().heapUsed;
}

async function allocPerRequest(send) {
  const samples = [];
  for (let b = 0; b < allocBatches; b++) {
    await heapAfterGc();
    const t0 = performance.now();
    const before = process.memoryUsage().heapUsed;
    await send(allocBatchSize);
    const after = process.memoryUsage().heapUsed;
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 20)); // let the observer deliver this batch's GC entries
    if (!gcStarts.some((t) => t >= t0 && t <= t1)) samples.push((after - before) / allocBatchSize);
  }
  samples.sort((a, b) => a - b);
  return samples.length ? samples[Math.floor(samples.length / 2)] : null;
}

const result = {};
const t00 = performance.now();
for (const kind of ['bare', 'graylane']) {
  const { server, port } = await startServer(kind === 'graylane');
  const { send, close } = driver(port);
  await send(2_000); // warm-up
  result[kind] = { allocPerRequest: await allocPerRequest(send) };
  if (kind === 'graylane') {
    const heaps = [];
    let done = 0;
    const started = performance.now();
    for (const n of counts) {
      await send(n - done);
      done = n;
      heaps.push({ requests: n, heapUsed: await heapAfterGc() });
    }
    result[kind].rate = (done / (performance.now() - started)) * 1000;
    result[kind].heaps = heaps;
  }
  close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}
result.seconds = (performance.now() - t00) / 1000;
process.send(result);
