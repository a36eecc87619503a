import http from 'node:http';
import superagent from 'superagent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { startTopology, type Hop, type Topology } from './servers.js';

/*
 * OUT-01/03, I8 with `installGlobal()`: an `http.ClientRequest` is judged on the headers it is
 * sent with, not the ones it had when `http.request()` returned. Clients set headers afterwards
 * (superagent sets every header that way); the old code judged once, at creation, so the app's
 * `baggage` replaced graylane's (no `gray` member), an upstream `gray=stable` went out beside
 * `X-Gray-Id: beta`, a forwarded `gray=beta` reached a host outside the allowlist, and a marker
 * the caller set late sat beside graylane's member. Every way Node renders the head is a row:
 * `end()`, `write()`, `flushHeaders()`.
 */

let topo: Topology;
let seq = 0;
let uninstall: () => void;
beforeAll(async () => {
  topo = await startTopology();
  uninstall = installGlobal({ allowHosts: [topo.a.origin] });
});
afterAll(async () => {
  uninstall();
  await topo.close();
});

type Headers = Record<string, string>;
type Send = (url: string, late: Headers) => Promise<unknown>;

/** `http.request`, headers set on the ClientRequest after it was created, head rendered by … */
function viaHttp(render: 'end' | 'write' | 'flushHeaders'): Send {
  return (url, late) =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { method: render === 'end' ? 'GET' : 'POST' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      for (const [name, value] of Object.entries(late)) req.setHeader(name, value);
      if (render === 'flushHeaders') req.flushHeaders();
      if (render !== 'end') req.write('body');
      req.end();
    });
}

const CLIENTS: [string, Send][] = [
  ['superagent', async (url, late) => superagent.get(url).set(late)],
  ['superagent POST', async (url, late) => superagent.post(url).set(late).send('body')],
  ['http.request + end()', viaHttp('end')],
  ['http.request + write()', viaHttp('write')],
  ['http.request + flushHeaders()', viaHttp('flushHeaders')],
];

interface Row {
  readonly name: string;
  readonly to: 'a' | 'b' | 'name' | 'v6';
  readonly late: Headers;
  /** The X-Gray-Id lines and `gray` members the host must get. */
  readonly ids: string[];
  readonly grays: string[];
}

const ROWS: Row[] = [
  {
    name: "the app's baggage",
    to: 'a',
    late: { baggage: 'a=1' },
    ids: ['beta'],
    grays: ['gray=beta'],
  },
  {
    name: 'an upstream gray member',
    to: 'a',
    late: { baggage: 'a=1,gray=stable' },
    ids: ['beta'],
    grays: ['gray=beta'],
  },
  {
    name: 'a marker the caller sets late',
    to: 'a',
    late: { 'X-Gray-Id': 'stable', baggage: 'a=1' },
    ids: ['stable'],
    grays: [],
  },
  ...(['b', 'name', 'v6'] as const).flatMap((to) => [
    { name: 'a forwarded gray member', to, late: { baggage: 'gray=beta,a=1' }, ids: [], grays: [] },
    {
      name: 'a marker the caller sets late',
      to,
      late: { 'x-gray-id': 'beta', baggage: 'a=1,gray=beta' },
      ids: [],
      grays: [],
    },
  ]),
];

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

describe.each(CLIENTS)('%s', (_client, send) => {
  it.each(ROWS.map((r) => [`${r.name} → ${r.to}`, r] as const))(
    'OUT-01 I8 headers set after http.request() returns are judged: %s',
    async (name, row) => {
      const id = `l${++seq}`;
      await runWithGray('beta', () => send(`${topo[row.to].origin}/echo/${id}`, row.late), {
        allowHosts: [topo.a.origin],
      });
      const [hop] = topo.hops(id) as [Hop];
      expect(hop.grayIds, `${name}: X-Gray-Id`).toEqual(row.ids);
      expect(
        members(hop).filter((m) => m.startsWith('gray')),
        `${name}: gray members`,
      ).toEqual(row.grays);
      expect(members(hop), `${name}: the app's member kept`).toContain('a=1');
    },
  );
});
