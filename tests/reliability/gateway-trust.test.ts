import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createGraylane,
  getGrayDecision,
  signMarker,
  type GraylaneOptions,
  type GraylaneStats,
} from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { graylaneKoa } from '@graylane/node/koa';
import { graylaneFastify } from '@graylane/node/fastify';
import { graylaneHono } from '@graylane/node/hono';
import { closeAll, listen, type Listening } from './helpers.js';

/**
 * GW-03: two graylane instances on one request never let the stricter one reuse a decision
 * made under weaker trust. GW-04: `trustedProxies` matches IPv4 peers on dual-stack listeners,
 * CIDRs, and IPv6, as an operator means it.
 */
afterAll(closeAll);

const KEY = 'a-gateway-signing-key-of-32-bytes!';
const CONFIG = { versions: ['stable', 'beta', 'canary'], default: 'stable' };
const token = (v: string) => signMarker(v, { key: KEY, kid: 'k1', ttlSeconds: 600 });

/** Options every adapter takes alike: nothing that is called with the framework's request. */
type LayerOptions = Omit<GraylaneOptions, 'attributes' | 'subject' | 'onDecision'>;

const MODES: Record<string, Partial<LayerOptions>> = {
  open: { trust: 'open' },
  signed: { trust: 'signed', keys: { k1: KEY } },
  edge: { trust: 'edge' },
  'edge (peer trusted)': { trust: 'edge', trustedProxies: ['127.0.0.0/8', '::1'] },
};

/** [first layer, second layer, what the client sends, version the handler sees, second re-decides?] */
type Row = [string, string, () => Record<string, string>, string, boolean];
const ROWS: Row[] = [
  ['open', 'signed', () => ({ 'x-gray-id': 'beta' }), 'stable', true],
  ['open', 'signed', () => ({ cookie: 'gray=beta', baggage: 'gray=canary' }), 'stable', true],
  ['open', 'edge', () => ({ 'x-gray-id': 'beta' }), 'stable', true],
  ['open', 'edge', () => ({ baggage: 'gray=canary' }), 'stable', true],
  ['signed', 'edge', () => ({ 'x-gray-id': token('beta') }), 'stable', true],
  ['edge (peer trusted)', 'edge', () => ({ 'x-gray-id': 'beta' }), 'stable', true],
  ['edge (peer trusted)', 'signed', () => ({ 'x-gray-id': 'beta' }), 'stable', true],
  ['open', 'signed', () => ({ 'x-gray-id': token('canary') }), 'canary', true],
  ['signed', 'open', () => ({ 'x-gray-id': token('beta') }), 'beta', false],
  ['signed', 'open', () => ({ 'x-gray-id': 'beta' }), 'stable', false],
  ['edge', 'open', () => ({ 'x-gray-id': 'beta' }), 'stable', false],
  ['edge', 'signed', () => ({ 'x-gray-id': token('beta') }), 'stable', false],
  ['open', 'open', () => ({ 'x-gray-id': 'beta' }), 'beta', false],
  ['signed', 'signed', () => ({ 'x-gray-id': token('beta') }), 'beta', false],
  ['edge', 'edge', () => ({ 'x-gray-id': 'beta' }), 'stable', false],
];

interface Stacked {
  readonly server: Listening;
  readonly second: () => GraylaneStats;
}
const reply = (res: http.ServerResponse) => res.end(JSON.stringify(getGrayDecision() ?? null));

/** Two layers on one request in each framework: `a` mounted first, `b` inside it. */
const stacks: Record<string, (a: LayerOptions, b: LayerOptions) => Promise<Stacked>> = {
  'node:http handle inside handle': async (a, b) => {
    const first = createGraylane(a);
    const second = createGraylane(b);
    const server = await listen(
      http.createServer((req, res) =>
        first.handle(req, res, () => second.handle(req, res, () => reply(res))),
      ),
    );
    return { server, second: () => second.stats() };
  },
  'express app + router': async (a, b) => {
    const app = express();
    const router = express.Router();
    const inner = graylaneExpress(b);
    router.use(inner);
    router.get('/*splat', (_req, res) => reply(res));
    app.use(graylaneExpress(a));
    app.use('/r', router);
    return { server: await listen(http.createServer(app)), second: () => inner.graylane.stats() };
  },
  'koa two middlewares': async (a, b) => {
    const app = new Koa();
    const inner = graylaneKoa(b);
    app.use(graylaneKoa(a));
    app.use(inner);
    app.use((ctx) => {
      ctx.body = getGrayDecision() ?? null;
    });
    return { server: await listen(http.createServer(app.callback())), second: () => inner.stats() };
  },
  'fastify two plugins': async (a, b) => {
    const app = Fastify();
    // The plugin has no stats handle: count the second layer's decisions through onDecision.
    let count = 0;
    await app.register(graylaneFastify, a);
    await app.register(graylaneFastify, { ...b, onDecision: () => void count++ });
    app.get('/*', async () => getGrayDecision() ?? null);
    await app.ready();
    return {
      server: await listen(app.server),
      second: () => ({ decisions: count ? [{ count }] : [] }) as unknown as GraylaneStats,
    };
  },
  'hono two middlewares': async (a, b) => {
    const app = new Hono();
    const inner = graylaneHono(b);
    app.use(graylaneHono(a));
    app.use(inner);
    app.get('/*', (c) => c.json(getGrayDecision() ?? null));
    return {
      server: await listen(createAdaptorServer({ fetch: app.fetch }) as http.Server),
      second: () => inner.stats(),
    };
  },
};

const cases = Object.keys(stacks).flatMap((stack) => ROWS.map((r) => [stack, ...r] as const));

describe('GW-03 a stricter layer never reuses a weaker layer\u2019s decision', () => {
  it.each(cases)(
    'GW-03 %s: %s then %s',
    async (stack, first, second, headers, expected, redecides) => {
      const make = stacks[stack] as (a: LayerOptions, b: LayerOptions) => Promise<Stacked>;
      const s = await make(
        { config: CONFIG, ...MODES[first] },
        { config: CONFIG, ...MODES[second] },
      );
      const path = stack.startsWith('express') ? '/r/x' : '/x';
      const d = (await (await fetch(`${s.server.url}${path}`, { headers: headers() })).json()) as {
        version: string;
      };
      expect(d.version).toBe(expected);
      const decisions = s
        .second()
        .decisions.reduce((n, r) => n + ((r as { count?: number }).count ?? 1), 0);
      expect(decisions).toBe(redecides ? 1 : 0);
    },
  );

  // The debug header describes the decision that was served: a weaker layer's header goes when a
  // stricter layer decides again (replaced when that layer writes one, removed when it does not).
  it.each(cases)(
    'GW-03 %s: %s then %s, X-Gray-Decision describes the served decision',
    async (stack, first, second, headers, expected, redecides) => {
      const make = stacks[stack] as (a: LayerOptions, b: LayerOptions) => Promise<Stacked>;
      const path = stack.startsWith('express') ? '/r/x' : '/x';
      for (const [debugA, debugB] of [
        [true, false],
        [true, true],
        [false, true],
      ] as const) {
        const s = await make(
          { config: CONFIG, ...MODES[first], debugHeader: debugA },
          { config: CONFIG, ...MODES[second], debugHeader: debugB },
        );
        const res = await fetch(`${s.server.url}${path}`, { headers: headers() });
        const served = ((await res.json()) as { version: string }).version;
        expect(served).toBe(expected);
        const header = res.headers.get('x-gray-decision');
        const at = `debug ${debugA}/${debugB}: ${header}`;
        if (redecides ? debugB : debugA) expect(header, at).toMatch(`version=${served};`);
        else expect(header, at).toBeNull();
      }
    },
  );

  // Sticky cookies describe the decision that was served too: a weaker layer's `gray` and
  // `gray_uid` go when a stricter layer decides again (two subjects and a stale lane before).
  const SPLIT = {
    ...CONFIG,
    rules: [
      {
        id: 'half',
        split: [
          { version: 'beta', weight: 50 },
          { version: 'canary', weight: 50 },
        ],
        bucketBy: 'cookie:gray_uid',
      },
    ],
  };
  it.each(cases)(
    'GW-03 %s: %s then %s, the sticky cookies describe the served decision',
    async (stack, first, second, headers) => {
      const make = stacks[stack] as (a: LayerOptions, b: LayerOptions) => Promise<Stacked>;
      const path = stack.startsWith('express') ? '/r/x' : '/x';
      const s = await make(
        { config: SPLIT, ...MODES[first], sticky: true },
        { config: SPLIT, ...MODES[second], sticky: true },
      );
      for (let i = 0; i < 6; i++) {
        const sent = i % 2 ? headers() : {};
        const res = await fetch(`${s.server.url}${path}`, { headers: sent });
        const served = ((await res.json()) as { version: string }).version;
        const cookies = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';')));
        const names = cookies.map((c) => c.slice(0, c.indexOf('=')));
        const at = `${JSON.stringify(sent)}: ${cookies.join(' | ')}`;
        expect(new Set(names).size, at).toBe(names.length);
        const gray = cookies.find((c) => /^(__Host-)?gray=/.test(c));
        if (gray !== undefined) expect(gray.split('=')[1]?.split('.')[0], at).toBe(served);
      }
    },
  );

  it('GW-03 decideRequest in a gateway, then a stricter middleware on the same request', async () => {
    const open = createGraylane({ config: CONFIG });
    const signed = createGraylane({ config: CONFIG, trust: 'signed', keys: { k1: KEY } });
    const s = await listen(
      http.createServer((req, res) => {
        const routed = open.decideRequest(req).version;
        signed.handle(req, res, () =>
          res.end(JSON.stringify({ routed, seen: getGrayDecision()?.version })),
        );
      }),
    );
    for (const [headers, routed, seen] of [
      [{ 'x-gray-id': 'beta' }, 'beta', 'stable'],
      [{ 'x-gray-id': token('canary') }, 'stable', 'canary'],
      [{ cookie: 'gray=beta' }, 'beta', 'stable'],
    ] as const) {
      expect(await (await fetch(s.url, { headers })).json()).toEqual({ routed, seen });
    }
  });
});

describe('GW-04 trustedProxies on a dual-stack listener', () => {
  /** A server on `::` (dual stack): IPv4 clients arrive as `::ffff:127.0.0.1`. */
  async function dualStack(options: Partial<GraylaneOptions>) {
    const gray = createGraylane({ config: CONFIG, trust: 'edge', ...options });
    const server = http.createServer((req, res) =>
      gray.handle(req, res, () =>
        res.end(
          JSON.stringify({ peer: req.socket.remoteAddress, version: getGrayDecision()?.version }),
        ),
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    const port = (server.address() as AddressInfo).port;
    return { server, port };
  }
  const ask = async (url: string) =>
    (await (await fetch(url, { headers: { 'x-gray-id': 'beta' } })).json()) as {
      peer: string;
      version: string;
    };

  const v4: [string[], boolean][] = [
    [['127.0.0.1'], true],
    [['127.0.0.0/8'], true],
    [['127.0.0.1/32'], true],
    [['0.0.0.0/0'], true],
    [['::ffff:127.0.0.1'], true],
    [['::ffff:7f00:1'], true],
    [['::ffff:127.0.0.0/104'], true],
    [['10.0.0.0/8', '127.0.0.1'], true],
    [['127.0.0.2'], false],
    [['127.0.0.2/32'], false],
    [['10.0.0.0/8'], false],
    [['::1'], false],
    [[], false],
  ];
  it.each(v4)('GW-04 IPv4 client, trustedProxies %j → honoured %s', async (list, honoured) => {
    const { server, port } = await dualStack({ trustedProxies: list });
    try {
      const r = await ask(`http://127.0.0.1:${port}/`);
      expect(r.peer).toBe('::ffff:127.0.0.1');
      expect(r.version).toBe(honoured ? 'beta' : 'stable');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  const v6: [string[], boolean][] = [
    [['::1'], true],
    [['::1/128'], true],
    [['::/0'], true],
    [['0:0:0:0:0:0:0:1'], true],
    [['::2'], false],
    [['127.0.0.1'], false],
    [['fe80::/10'], false],
  ];
  it.each(v6)('GW-04 IPv6 client, trustedProxies %j → honoured %s', async (list, honoured) => {
    const { server, port } = await dualStack({ trustedProxies: list });
    try {
      const r = await ask(`http://[::1]:${port}/`);
      expect(r.peer).toBe('::1');
      expect(r.version).toBe(honoured ? 'beta' : 'stable');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it.each([
    'localhost',
    '300.1.1.1',
    '1.2.3.4/33',
    '::1/129',
    '',
    '1.2.3',
    '01.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    '::1::',
    '10.0.0.0/8/8',
  ])('GW-04 %j is refused at construction with a clear error', (entry) => {
    expect(() =>
      createGraylane({ config: CONFIG, trust: 'edge', trustedProxies: [entry] }),
    ).toThrow(/trustedProxies: .* is not an IP address, CIDR network or .unix./);
  });
});
