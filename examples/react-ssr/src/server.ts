/**
 * The site: express with the graylane middleware (decides once per request, sticky cookie),
 * `/api/hello` (which calls an internal `catalog` service through `withGray(fetch)`), and the
 * asset-lane gateway serving `dist/web/<version>/` with the page rendered on the server by that
 * same build's `dist/ssr/<version>/render.mjs`. HTML, JS bundle and API calls share one lane.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { getGrayDecision, getGrayVersion, withGray } from '@graylane/node';
import { createAssetLanes } from '@graylane/node/assets';
import { graylaneExpress } from '@graylane/node/express';
import { SERVER_CONFIG } from './gray.js';

/** Options of {@link startSite}. */
export interface SiteOptions {
  /** The build output: `web/<version>/` (served) and `ssr/<version>/render.mjs` (server render). */
  readonly dist: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

/** A running site. */
export interface Site {
  readonly url: string;
  close(): Promise<void>;
}

interface RenderModule {
  render(version: string | undefined): string;
}

/** Starts the catalog service and the site on 127.0.0.1. */
export async function startSite(options: SiteOptions): Promise<Site> {
  const catalog = await listen(createServer(catalogApp()), 0);
  const site = await listen(createServer(siteApp(options.dist, catalog.url)), options.port ?? 0);
  return {
    url: site.url,
    close: async () => {
      await site.close();
      await catalog.close();
    },
  };
}

function siteApp(dist: string, catalogUrl: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(
    graylaneExpress({
      config: SERVER_CONFIG,
      // The browser SDK reads the `gray` cookie, and a QA choice (setGrayVersion) overwrites it:
      // a page cannot overwrite an HttpOnly cookie.
      sticky: { httpOnly: false },
      // A QA `?gray=` must move the whole page, as the browser's `override` does: the query
      // outranks the sticky cookie here (it is still never persisted, STK-02).
      precedence: ['query', 'header', 'cookie', 'baggage'],
      allowHosts: [new URL(catalogUrl).host],
    }),
  );
  const grayFetch = withGray(fetch);
  app.get('/api/hello', async (_req, res, next) => {
    try {
      const upstream = await grayFetch(`${catalogUrl}/items`);
      res.json({ gateway: getGrayDecision(), catalog: await upstream.json() });
    } catch (err) {
      next(err);
    }
  });
  const renders = new Map<string, Promise<RenderModule>>();
  const renderer = (lane: string): Promise<RenderModule> => {
    let mod = renders.get(lane);
    if (!mod) {
      const file = pathToFileURL(join(dist, 'ssr', lane, 'render.mjs')).href;
      mod = import(file) as Promise<RenderModule>;
      renders.set(lane, mod);
    }
    return mod;
  };
  app.use(
    createAssetLanes({
      root: join(dist, 'web'),
      fallback: SERVER_CONFIG.default,
      // esbuild writes content-hashed names under assets/ (scripts/build.mjs). Said here, each
      // gets its year from the first deploy: one esbuild hash in three reads as a word
      // (`client-DYZNWLJ6.js`), which graylane does not take for a hash on its own.
      immutable: (path) => path.startsWith('assets/'),
      // Server rendering with the lane's own build, so hydration runs the same code.
      transformHtml: async (html, { version, lane }) =>
        html.replace('<!--ssr-outlet-->', (await renderer(lane)).render(version)),
    }),
  );
  return app;
}

/** An internal service: reports the version it saw (from `X-Gray-Id`, set by `withGray`). */
function catalogApp(): express.Express {
  const app = express();
  app.use(graylaneExpress({ config: SERVER_CONFIG }));
  app.get('/items', (_req, res) => {
    res.json({ service: 'catalog', version: getGrayVersion() });
  });
  return app;
}

async function listen(server: Server, port: number): Promise<Site> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
