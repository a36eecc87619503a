// Reload latency: time from a write to the new rules being live in the config store (its change
// event), for the file source (atomic save: temp file + rename, as editors do; and written in
// place, which waits the source's settleMs) and the etcd
// source (a put against a real etcd on loopback). p50 / p99 over the writes.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfigStore } from '@graylane/core';
import { createFileSource, startSources } from '@graylane/node/sources';
import { createEtcdSource } from '@graylane/etcd';
import { findEtcd, startEtcd } from '../lib/etcd.mjs';
import { rulesDocument } from '../lib/fixtures.mjs';
import { goal, percentile } from '../measure.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const documentWith = (i) => {
  const doc = rulesDocument(10);
  doc.rules.unshift({
    id: `w${i}`,
    match: { attrs: { plan: { equals: `w-${i}` } } },
    version: 'beta',
  });
  return JSON.stringify(doc);
};

/** Writes `writes` documents one after another; returns write → change-event latencies in ms. */
async function measure(store, write, writes, label) {
  const latencies = [];
  for (let i = 1; i <= writes; i++) {
    const id = `w${i}`;
    let timer;
    const live = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: write ${i} not live after 5 s`)), 5_000);
      const off = store.subscribe((e) => {
        if (e.type === 'change' && e.changedRuleIds.includes(id)) {
          off();
          resolve(performance.now());
        }
      });
    });
    const t0 = performance.now();
    await write(documentWith(i));
    try {
      latencies.push((await live) - t0);
    } finally {
      clearTimeout(timer);
    }
    await sleep(30 + Math.random() * 30); // writes at a human pace, not a storm
  }
  return latencies;
}

/** `atomic`: temp file + rename (editors, ConfigMaps, deploy tools); else written in place. */
async function fileRun(writes, fileOptions, atomic = true) {
  const dir = mkdtempSync(join(tmpdir(), 'graylane-bench-reload-'));
  const path = join(dir, 'rules.json');
  writeFileSync(path, documentWith(0));
  const store = createConfigStore({ initial: rulesDocument(10) });
  const sources = startSources(store, [createFileSource({ path, ...fileOptions })], {
    meter: false,
  });
  try {
    await sources.ready;
    let n = 0;
    return await measure(
      store,
      async (text) => {
        if (!atomic) return writeFileSync(path, text);
        const tmp = join(dir, `.rules.json.${++n}.tmp`);
        writeFileSync(tmp, text);
        renameSync(tmp, path);
      },
      writes,
      'file',
    );
  } finally {
    await sources.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function etcdRun(binary, writes) {
  const etcd = await startEtcd(binary);
  let sources;
  try {
    const key = '/graylane/bench/config';
    await etcd.put(key, documentWith(0));
    const store = createConfigStore({ initial: rulesDocument(10) });
    sources = startSources(store, [createEtcdSource({ hosts: etcd.endpoint, key })], {
      meter: false,
    });
    await sources.ready;
    await sleep(100); // the watch is created right after the first read
    return await measure(store, (text) => etcd.put(key, text), writes, 'etcd');
  } finally {
    await sources?.stop();
    await etcd.dispose();
  }
}

const row = (label, xs) => [
  label,
  `${xs.length}`,
  `${percentile(xs, 50).toFixed(1)} ms`,
  `${percentile(xs, 99).toFixed(1)} ms`,
  `${Math.max(...xs).toFixed(1)} ms`,
];

export async function run({ quick }) {
  const writes = quick ? 5 : 30;
  const rows = [];
  const goals = [];
  const file = await fileRun(writes, {});
  rows.push(row('file, renamed into place (default options)', file));
  goals.push(goal('file reload p99 ≤ 100 ms', percentile(file, 99), 100, '<='));
  if (!quick) {
    // Written in place: the source waits `settleMs` (200 ms) so a half-written file is not read.
    const inPlace = await fileRun(writes, {}, false);
    rows.push(row('file, written in place (waits `settleMs`)', inPlace));
  }
  let notes;
  const binary = findEtcd();
  if (binary) {
    const etcd = await etcdRun(binary, writes);
    rows.push(row('etcd (watch), write = put through the gateway', etcd));
    goals.push(goal('etcd reload p99 ≤ 50 ms', percentile(etcd, 99), 50, '<='));
  } else {
    notes = 'etcd half skipped: no `etcd` binary on PATH (`apt-get install etcd-server`).';
  }
  return {
    id: 'reload',
    title: `Reload latency: write → new rules live in the store (${writes} writes per source)`,
    header: ['source', 'writes', 'p50', 'p99', 'max'],
    rows,
    goals,
    notes,
  };
}
