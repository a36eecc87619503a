/**
 * `inventory` — koa, deployed as **stable only**. A beta request is served by the stable code
 * (lane fallback, via `grayHandlers`), and the beta marker still travels on to `pricing`
 * through the axios interceptor.
 */
import { createServer } from 'node:http';
import axios from 'axios';
import Koa from 'koa';
import { attachGray, grayHandlers, tryGetGrayVersion } from '@graylane/node';
import { graylaneKoa } from '@graylane/node/koa';
import { currentHop, isHopsBody, type HopRecord } from '../hop.js';
import { resolveLane } from '../lanes.js';
import { close, listen } from '../listen.js';
import { PRICING_CALL_MS } from '../timeouts.js';
import {
  defaultVersion,
  internalGrayOptions,
  type RunningService,
  type ServiceOptions,
} from './common.js';

/** Starts one `inventory` instance. */
export async function startInventory(options: ServiceOptions): Promise<RunningService> {
  const instance = `inventory-${options.lane}`;
  const http = axios.create({ timeout: PRICING_CALL_MS });
  attachGray(http, { allowHosts: ['127.0.0.1'] });
  const app = new Koa();
  app.use(graylaneKoa(internalGrayOptions(options.config)));

  const stock = (served: string): Koa.Middleware =>
    async function inventoryHandler(ctx) {
      const sku = ctx.path.split('/').pop() ?? 'unknown';
      const next = resolveLane(
        options.lanes,
        'pricing',
        tryGetGrayVersion(),
        defaultVersion(options.config),
      );
      try {
        const { data } = await http.get<unknown>(`${next.url}/prices/${sku}`);
        const downstream: readonly HopRecord[] = isHopsBody(data) ? data.hops : [];
        ctx.body = {
          stock: 7,
          price: isHopsBody(data) ? data.price : null,
          hops: [currentHop('inventory', instance, served), ...downstream],
        };
      } catch (err) {
        ctx.status = 502;
        ctx.body = {
          error: `pricing unreachable: ${String(err)}`,
          hops: [currentHop('inventory', instance, served)],
        };
      }
    };

  // Only the stable code exists here: every other version falls back to it (lane fallback).
  app.use(grayHandlers({ [options.lane]: stock(options.lane) }, { fallback: options.lane }));

  const server = createServer(app.callback());
  const port = await listen(server, instance, options.port);
  return { instance, url: `http://127.0.0.1:${port}`, close: () => close(server) };
}
