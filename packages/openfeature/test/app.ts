import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { getGrayDecision } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import type { EvaluationContext } from '@openfeature/server-sdk';

/** Three lanes; a QA rule, an expired window, a 50/50 split on `x-user` (every reason reachable). */
export const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    { id: 'qa', match: { header: { 'x-group': { equals: 'qa' } } }, version: 'beta' },
    {
      id: 'launch',
      match: { header: { 'x-group': { equals: 'early' } } },
      version: 'canary',
      window: { until: '2020-01-01T00:00:00Z' },
    },
    {
      id: 'ramp',
      match: { header: { 'x-user': { exists: true } } },
      split: [
        { version: 'beta', weight: 50 },
        { version: 'stable', weight: 50 },
      ],
      bucketBy: 'header:x-user',
    },
  ],
};

/** What a route evaluates: `flag` with an optional invocation context, through `evaluate`. */
export type Evaluate = (flag: string, context: EvaluationContext) => Promise<unknown>;

export interface App {
  readonly url: string;
  /** GET `/eval?flag=…` with headers; the JSON the route answered. */
  get(path: string, headers?: Record<string, string>): Promise<EvalAnswer>;
  close(): Promise<void>;
}

export interface EvalAnswer {
  /** The version graylane decided, as the handler saw it. */
  readonly lane: string | undefined;
  readonly details: unknown;
}

/**
 * A real express 5 app on 127.0.0.1 with graylane's middleware; `/eval?flag=NAME[&ctx=JSON]`
 * evaluates through `evaluate` after an await and a timer hop (so the context must survive both).
 */
export async function startApp(evaluate: Evaluate): Promise<App> {
  const app = express();
  app.use(graylaneExpress({ config }));
  app.get('/eval', async (req, res) => {
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 4)));
    const url = new URL(req.url, 'http://x');
    const ctx = JSON.parse(url.searchParams.get('ctx') ?? '{}') as EvaluationContext;
    const details = await evaluate(url.searchParams.get('flag') ?? '', ctx);
    res.json({ lane: getGrayDecision()?.version, details });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async get(path, headers = {}) {
      const res = await fetch(url + path, { headers });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as EvalAnswer;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `/eval` path for a flag and an optional invocation context. */
export function evalPath(flag: string, ctx?: EvaluationContext, query = ''): string {
  const c = ctx ? `&ctx=${encodeURIComponent(JSON.stringify(ctx))}` : '';
  return `/eval?flag=${encodeURIComponent(flag)}${c}${query}`;
}
