// Outbound injection: client CPU per call for fetch (undici), undici.request and axios to a
// loopback server in another process, plain vs with graylane injection (`withGray`,
// `grayInterceptor`, `attachGray`), all inside `runWithGray` so there is a marker to inject.
// Rounds interleave every candidate; each figure is the median over rounds.
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import axios from 'axios';
import { Agent, request as undiciRequest } from 'undici';
import { attachGray, grayInterceptor, runWithGray, withGray } from '@graylane/node';
import { forkReady, stopChild } from '../lib/child.mjs';
import { median } from '../measure.mjs';

const ECHO = fileURLToPath(new URL('../servers/echo-server.mjs', import.meta.url));
const CONCURRENCY = 16;

/** Runs `calls` calls, CONCURRENCY at a time; returns client CPU µs per call and calls/s. */
async function measure(call, calls) {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const worker = async () => {
    while (next < calls) {
      next++;
      await call();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const d = process.cpuUsage(cpu);
  return {
    cpuPerCall: (d.user + d.system) / calls,
    rate: (calls / (performance.now() - start)) * 1000,
  };
}

export async function run({ quick }) {
  const { child, first } = await forkReady(ECHO);
  const base = `http://127.0.0.1:${first.port}`;
  const url = `${base}/orders`;
  const allowHosts = [`127.0.0.1:${first.port}`];
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const plainAxios = axios.create({ httpAgent });
  const grayAxios = axios.create({ httpAgent });
  attachGray(grayAxios, { allowHosts });
  const grayFetch = withGray(fetch, { allowHosts });
  const plainDispatcher = new Agent({ connections: CONCURRENCY });
  const grayDispatcher = new Agent({ connections: CONCURRENCY }).compose(
    grayInterceptor({ allowHosts }),
  );
  const text = (r) => r.text();
  const body = async (r) => r.body.text();
  const pairs = [
    ['global `fetch`', () => fetch(url).then(text), () => grayFetch(url).then(text)],
    [
      '`undici.request` (Agent)',
      () => undiciRequest(url, { dispatcher: plainDispatcher }).then(body),
      () => undiciRequest(url, { dispatcher: grayDispatcher }).then(body),
    ],
    ['axios (http adapter)', () => plainAxios.get(url), () => grayAxios.get(url)],
  ];
  const calls = quick ? 200 : 2_000;
  const rounds = quick ? 1 : 7;
  const samples = new Map(
    pairs.flatMap(([label]) => [
      [`${label} plain`, []],
      [`${label} gray`, []],
    ]),
  );
  const inGray = (fn) => runWithGray('beta', fn, { allowHosts });
  try {
    // Check the injection really happens, then warm up.
    const seen = await inGray(() => grayFetch(url).then(text));
    if (seen !== 'beta') throw new Error(`withGray did not inject the marker (server saw ${seen})`);
    const axiosSeen = await inGray(() => grayAxios.get(url));
    if (axiosSeen.data !== 'beta') throw new Error('attachGray did not inject the marker');
    const undiciSeen = await inGray(() =>
      undiciRequest(url, { dispatcher: grayDispatcher }).then(body),
    );
    if (undiciSeen !== 'beta') throw new Error('grayInterceptor did not inject the marker');
    for (const [, plain, gray] of pairs) {
      await inGray(() => measure(plain, calls / 2));
      await inGray(() => measure(gray, calls / 2));
    }
    for (let r = 0; r < rounds; r++) {
      for (const [label, plain, gray] of r % 2 ? [...pairs].reverse() : pairs) {
        // Both run inside runWithGray: the difference is the injection alone.
        const a = await inGray(() => measure(plain, calls));
        const b = await inGray(() => measure(gray, calls));
        samples.get(`${label} plain`).push(a);
        samples.get(`${label} gray`).push(b);
      }
    }
  } finally {
    httpAgent.destroy();
    await plainDispatcher.close();
    await grayDispatcher.close();
    await stopChild(child);
  }
  const rows = pairs.map(([label]) => {
    const plain = samples.get(`${label} plain`);
    const gray = samples.get(`${label} gray`);
    const ratio = median(gray.map((g, i) => g.cpuPerCall / plain[i].cpuPerCall));
    return [
      label,
      median(plain.map((s) => s.cpuPerCall)).toFixed(1),
      median(gray.map((s) => s.cpuPerCall)).toFixed(1),
      `${ratio.toFixed(2)}×`,
      Math.round(median(plain.map((s) => s.rate))).toLocaleString('en-US'),
      Math.round(median(gray.map((s) => s.rate))).toLocaleString('en-US'),
    ];
  });
  return {
    id: 'outbound',
    title: `Outbound: client CPU µs per call to a loopback server (${CONCURRENCY} in flight, ${calls} calls × ${rounds} interleaved rounds)`,
    header: [
      'client',
      'plain µs/call',
      'with graylane µs/call',
      'ratio',
      'plain calls/s',
      'graylane calls/s',
    ],
    rows,
    goals: [],
    notes:
      'Both sides run inside `runWithGray("beta", …)` with the target allowed, so the graylane side adds the marker header and the `gray` baggage member to every call; the ratio is per round, then the median. No goal is set by the issue: the figure is the price of injection.',
  };
}
