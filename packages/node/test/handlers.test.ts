import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import express from 'express';
import {
  getGrayVersion,
  grayBranch,
  grayHandlers,
  graylane,
  outboundStats,
  runWithGray,
  tryGetGrayLane,
  withGray,
} from '../src/index.js';
import { closeAll, echoServer, listen } from './helpers.js';

afterEach(closeAll);

describe('grayBranch', () => {
  it('runs the current version branch, else the fallback; own keys only', () => {
    const branches = { beta: () => 'B', stable: () => 'S' };
    expect(runWithGray('beta', () => grayBranch(branches))).toBe('B');
    expect(runWithGray('canary', () => grayBranch(branches, { fallback: 'stable' }))).toBe('S');
    expect(grayBranch(branches, { fallback: 'stable' })).toBe('S');
    expect(runWithGray('constructor', () => grayBranch(branches))).toBeUndefined();
    expect(
      runWithGray('tostring', () => grayBranch({ toString: () => 'x' } as never)),
    ).toBeUndefined();
  });
});

describe('grayHandlers (lane fallback)', () => {
  it('a missing version is served by the fallback, recorded, and the marker keeps travelling unchanged', async () => {
    const up = await echoServer();
    const app = express();
    app.use(
      graylane({
        config: { versions: ['stable', 'beta', 'canary'], default: 'stable' },
        allowHosts: [`127.0.0.1:${up.port}`],
      }),
    );
    const lane = (name: string) => async (_req: express.Request, res: express.Response) => {
      const r = await withGray(fetch)(up.url);
      const seen = ((await r.json()) as { headers: Record<string, string> }).headers['x-gray-id'];
      res.json({
        handler: name,
        version: getGrayVersion(),
        lane: tryGetGrayLane(),
        downstream: seen,
      });
    };
    app.get(
      '/',
      grayHandlers({ stable: lane('stable'), beta: lane('beta') }, { fallback: 'stable' }),
    );
    const s = await listen(http.createServer(app));
    const before = outboundStats().fallbacks.find((f) => f.wanted === 'canary')?.count ?? 0;
    const get = async (m: string) => (await fetch(s.url, { headers: { 'x-gray-id': m } })).json();
    expect(await get('beta')).toEqual({
      handler: 'beta',
      version: 'beta',
      lane: 'beta',
      downstream: 'beta',
    });
    expect(await get('canary')).toEqual({
      handler: 'stable',
      version: 'canary',
      lane: 'stable',
      downstream: 'canary',
    });
    expect(outboundStats().fallbacks.find((f) => f.wanted === 'canary')).toEqual({
      wanted: 'canary',
      served: 'stable',
      count: before + 1,
    });
  });

  it('throws at construction when the fallback has no handler', () => {
    expect(() => grayHandlers({ beta: () => 1 }, { fallback: 'stable' })).toThrow(/fallback/);
  });
});

describe('stats and construction', () => {
  it('stats() counts decisions with closed-set labels; bad options throw at construction only', async () => {
    const { createGraylane } = await import('../src/index.js');
    expect(() => createGraylane({ config: { versions: ['stable'], default: 'beta' } })).toThrow(
      /INVALID|default/i,
    );
    expect(() =>
      createGraylane({ config: { versions: ['stable'], default: 'stable' }, trust: 'signed' }),
    ).toThrow(/key/);
    expect(() =>
      createGraylane({ config: { versions: ['stable'], default: 'stable' }, allowHosts: [/evil/] }),
    ).toThrow(/anchored/);
    expect(() =>
      createGraylane({
        config: {
          versions: ['stable'],
          default: 'stable',
          rules: [{ id: 'r', match: { path: { regex: '^(?=a)' } }, version: 'stable' }],
        },
      }),
    ).toThrow();
    const gray = createGraylane({
      config: {
        versions: ['stable'],
        default: 'stable',
        rules: [{ id: 'r', match: { path: { regex: '^/a+$' } }, version: 'stable' }],
      },
    });
    const req = {
      headers: { 'x-gray-id': 'nope-' },
      url: '/aaa',
      method: 'GET',
    } as unknown as http.IncomingMessage;
    expect(gray.decideRequest(req)).toMatchObject({
      version: 'stable',
      reason: 'rule',
      ruleId: 'r',
    });
    expect(gray.stats().decisions).toEqual([
      { version: 'stable', reason: 'rule', source: 'rules', count: 1 },
    ]);
  });
});
