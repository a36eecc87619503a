/**
 * `pricing` — fastify, deployed as stable and beta; the last hop. The beta code prices with a
 * new discount, chosen with `grayBranch` from the version the request carried all the way here.
 */
import Fastify from 'fastify';
import { grayBranch } from '@graylane/node';
import { graylaneFastify } from '@graylane/node/fastify';
import { currentHop } from '../hop.js';
import { explainListenError } from '../listen.js';
import { HOST } from '../ports.js';
import { internalGrayOptions, type RunningService, type ServiceOptions } from './common.js';

/** Starts one `pricing` instance. */
export async function startPricing(options: ServiceOptions): Promise<RunningService> {
  const instance = `pricing-${options.lane}`;
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(graylaneFastify, internalGrayOptions(options.config));

  app.get('/prices/:sku', async function pricingHandler() {
    const price = grayBranch({ beta: () => 17.1, stable: () => 19 }, { fallback: 'stable' });
    return { price, hops: [currentHop('pricing', instance, options.lane)] };
  });

  try {
    await app.listen({ host: HOST, port: options.port });
  } catch (err) {
    await app.close();
    throw explainListenError(err, instance, options.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { instance, url: `http://${HOST}:${port}`, close: () => app.close() };
}
