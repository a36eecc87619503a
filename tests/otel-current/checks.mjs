// The checks run.mjs applies to each A → B → C topology. A decides (50/50 split on x-user, or an
// explicit X-Gray-Id on every 10th request); B is OpenTelemetry only; C reads what arrived.
import assert from 'node:assert/strict';

const SERVER = 1; // SpanKind.SERVER
let batches = 0;

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const at = (hop, name) => (hop?.service === name ? hop : hop && at(hop.downstream, name));
const grayMembers = (baggage) =>
  (baggage ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.startsWith('gray='));

/** `n` concurrent requests through A; each result names what A decided and what B and C saw. */
async function drive(a, query, n = 40) {
  const batch = ++batches;
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = `r${batch}-${i}`;
      const headers = { 'x-user': `user-${batch}-${i}`, 'x-req-id': id };
      if (i % 10 === 0) headers['x-gray-id'] = 'beta';
      const hop = await getJson(`${a.url}/hop?${query}`, headers);
      return { id, decided: hop.version, b: at(hop, 'b'), c: at(hop, 'c') };
    }),
  );
}

function expectBothLanes(results) {
  assert.deepEqual(new Set(results.map((r) => r.decided)), new Set(['stable', 'beta']));
}

/** I7 over OTel only: B sees the marker as baggage alone, C's decision equals A's. */
function otelCarried(query) {
  return async (a) => {
    const results = await drive(a, query);
    expectBothLanes(results);
    for (const r of results) {
      assert.equal(r.b?.seen['x-gray-id'], undefined, `${r.id}: B got a graylane header`);
      assert.deepEqual(grayMembers(r.b?.seen.baggage), [`gray=${r.decided}`], r.id);
      assert.equal(r.c?.version, r.decided, `${r.id}: C saw ${r.c?.version}`);
      assert.equal(r.c?.reason, 'baggage', r.id);
      assert.match(r.c?.seen.traceparent ?? '', /^00-[0-9a-f]{32}-/, `${r.id}: trace broken`);
    }
  };
}

export const checks = [
  {
    name: 'resolved: @opentelemetry/api 1.10, sdk-node 0.30x, @graylane/node from the tarball',
    run: async (a, { nodeVersion }) => {
      const r = await getJson(`${a.url}/__resolved`);
      assert.equal(r.node, nodeVersion);
      assert.match(r.api, /^1\.10\./);
      assert.match(r.sdkNode, /^0\.30\d\./);
      assert.match(r.graylaneNode, /tests\/otel-current\/node_modules\/@graylane\/node\/dist\//);
    },
  },
  { name: 'I7 OTB-03 http.get on both hops: C sees what A decided', run: otelCarried('via=http') },
  {
    name: 'I7 OTB-03 fetch on both hops (undici instrumentation): C sees what A decided',
    run: otelCarried('via=fetch&hop=fetch'),
  },
  { name: 'I7 fetch in A, http.get in B', run: otelCarried('via=fetch') },
  { name: 'I7 http.get in A, fetch in B', run: otelCarried('via=http&hop=fetch') },
  {
    name: 'OTB-04 OUT-01 withGray(fetch) under undici instrumentation: one X-Gray-Id, one gray member',
    run: async (a) => {
      const results = await drive(a, 'via=graylane', 20);
      expectBothLanes(results);
      for (const r of results) {
        assert.equal(r.b?.seen['x-gray-id'], r.decided, r.id);
        assert.deepEqual(grayMembers(r.b?.seen.baggage), [`gray=${r.decided}`], r.id);
        assert.equal(r.c?.version, r.decided, r.id);
      }
    },
  },
  {
    name: "A's HTTP server spans carry graylane.version and graylane.reason",
    run: async (a) => {
      const results = await drive(a, 'via=http', 10);
      const ids = new Set(results.map((r) => r.id));
      const idOf = (s) => s.attributes['http.request.header.x-req-id']?.[0];
      let mine = [];
      for (let i = 0; i < 50 && mine.length < ids.size; i++) {
        const spans = await getJson(`${a.url}/__spans`);
        mine = spans.filter((s) => s.kind === SERVER && ids.has(idOf(s)));
        if (mine.length < ids.size) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(mine.length, ids.size, 'server spans were not exported');
      const decided = new Map(results.map((r) => [r.id, r.decided]));
      for (const s of mine) {
        assert.equal(s.attributes['graylane.version'], decided.get(idOf(s)), idOf(s));
        assert.ok(['header', 'weight'].includes(s.attributes['graylane.reason']), idOf(s));
      }
    },
  },
];
