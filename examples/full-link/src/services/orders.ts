/**
 * `orders` — express, deployed as stable and beta. Calls `inventory` through `withGray(fetch)`,
 * which adds `X-Gray-Id` for the loopback hosts only, then publishes "order placed" to the
 * fulfilment queue in the same lane (the queue hop).
 */
import { createServer } from 'node:http';
import express from 'express';
import { grayBranch, tryGetGrayVersion, withGray } from '@graylane/node';
import { graylaneExpress } from '@graylane/node/express';
import { currentHop, isHopsBody, type HopRecord } from '../hop.js';
import { resolveLane } from '../lanes.js';
import { close, listen } from '../listen.js';
import { INVENTORY_CALL_MS } from '../timeouts.js';
import {
  defaultVersion,
  internalGrayOptions,
  type RunningService,
  type ServiceOptions,
} from './common.js';

/** Starts one `orders` instance. */
export async function startOrders(options: ServiceOptions): Promise<RunningService> {
  const instance = `orders-${options.lane}`;
  const grayFetch = withGray(undefined, { allowHosts: ['127.0.0.1'] });
  const app = express();
  app.disable('x-powered-by');
  app.use(graylaneExpress(internalGrayOptions(options.config)));

  // The broken link, on purpose (docs/find-where-the-lane-breaks.md): `pricing` called with the
  // plain global fetch, which graylane does not wrap. The beta marker does not reach `pricing`,
  // which serves stable; with `installCoverage()` on, the call counts as `missing`, with this line.
  app.get('/broken-link', async function brokenLinkHandler(_req, res) {
    const pricing = resolveLane(
      options.lanes,
      'pricing',
      tryGetGrayVersion(),
      defaultVersion(options.config),
    );
    try {
      const upstream = await fetch(`${pricing.url}/prices/sku-42`, {
        signal: AbortSignal.timeout(INVENTORY_CALL_MS),
      });
      const body: unknown = await upstream.json();
      const downstream: readonly HopRecord[] = isHopsBody(body) ? body.hops : [];
      res.json({ hops: [currentHop('orders', instance, options.lane), ...downstream] });
    } catch (err) {
      res.status(502).json({ error: `pricing unreachable: ${String(err)}`, hops: [] });
    }
  });

  app.get('/{*path}', async function ordersHandler(req, res) {
    const sku = 'sku-42';
    const next = resolveLane(
      options.lanes,
      'inventory',
      tryGetGrayVersion(),
      defaultVersion(options.config),
    );
    try {
      const upstream = await grayFetch(`${next.url}/inventory/${sku}`, {
        signal: AbortSignal.timeout(INVENTORY_CALL_MS),
      });
      const body: unknown = await upstream.json();
      const downstream: readonly HopRecord[] = isHopsBody(body) ? body.hops : [];
      // The queue hop: "order placed" goes to the fulfilment worker in this request's lane.
      const queue = options.fulfilment ? await options.fulfilment.place(sku) : undefined;
      const checkout = grayBranch(
        { beta: () => 'one-page', stable: () => 'classic' },
        { fallback: 'stable' },
      );
      res.json({
        order: {
          path: req.path,
          sku,
          checkout,
          stock: isHopsBody(body) ? body.stock : null,
          price: isHopsBody(body) ? body.price : null,
        },
        hops: [currentHop('orders', instance, options.lane), ...downstream],
        ...(queue !== undefined ? { queue } : {}),
      });
    } catch (err) {
      res.status(502).json({
        error: `inventory unreachable: ${String(err)}`,
        hops: [currentHop('orders', instance, options.lane)],
      });
    }
  });

  const server = createServer(app);
  const port = await listen(server, instance, options.port);
  return { instance, url: `http://127.0.0.1:${port}`, close: () => close(server) };
}
