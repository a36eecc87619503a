/**
 * The Node gateway: express + http-proxy-middleware (a maintained proxy, not a hand-written
 * one). graylane decides at the edge; the gateway routes `/api/*` to the `orders` instance of the
 * decided version (lane fallback to the default lane) and overwrites `X-Gray-Id` with the plain
 * decided version, so a client's raw or signed marker never reaches an internal hop unchecked.
 * The page itself is on the lane too: `@graylane/node/assets` serves `<webRoot>/<version>/`
 * (the default version's build when a version has none) with the version in a meta tag.
 */
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { getGrayDecision } from '@graylane/node';
import { createAssetLanes } from '@graylane/node/assets';
import { graylaneExpress } from '@graylane/node/express';
import { removeBaggageMember, type ConfigStore } from '@graylane/core';
import { GATEWAY_HOP_HEADER, type GatewayHopRecord } from './hop.js';
import { resolveLane, type LaneChoice, type LaneTable } from './lanes.js';
import { close, listen } from './listen.js';
import { HOST } from './ports.js';
import { PROXY_MS, UPSTREAM_IDLE_MS } from './timeouts.js';

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** `gateway` (open trust) or `gateway-signed` (signed trust). */
  readonly instance: string;
  readonly port: number;
  readonly lanes: LaneTable;
  /** The edge config store, fed by the JSON rule file. */
  readonly config: ConfigStore;
  readonly trust: 'open' | 'signed';
  /** `signed` mode: key id → HMAC key. */
  readonly keys?: Readonly<Record<string, string>>;
  /** Serves the built web page from here when set: one build per version, `<webRoot>/<version>/`. */
  readonly webRoot?: string;
}

/** A started gateway. */
export interface RunningGateway {
  readonly instance: string;
  readonly url: string;
  close(): Promise<void>;
}

interface Routed {
  readonly version: string;
  readonly choice: LaneChoice;
  readonly hop: GatewayHopRecord;
}

/** Answers with the gateway's own hop record only: the decision at the edge. */
export const DECISION_PATH = '/gray/decision';

/** The marker header (lower-case, as Node sees it) and baggage key: graylane's defaults. */
const MARKER_HEADER = 'x-gray-id';
const BAGGAGE_KEY = 'gray';

/** Starts a gateway instance. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const routed = new WeakMap<IncomingMessage, Routed>();
  // Without an agent http-proxy sends `Connection: close` upstream, and the upstream's close
  // travels back to the client: a new TCP connection per request on every side.
  // `timeout` closes idle pooled connections before the upstream does. Without it Node keeps them
  // forever: it honours an upstream's `Keep-Alive: timeout=5` hint only by lowering a timeout the
  // agent already has. A request sent on a connection the upstream is closing at that moment fails
  // with ECONNRESET — a 502 for the visitor.
  const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: UPSTREAM_IDLE_MS });
  const defaultLane = (): LaneChoice =>
    resolveLane(options.lanes, 'orders', undefined, options.config.get().config.default);
  const app = express();
  app.disable('x-powered-by');
  app.use(
    graylaneExpress({
      config: options.config,
      trust: options.trust,
      ...(options.keys ? { keys: options.keys } : {}),
      // The upstreams the proxy sends the marker to: a marker to any other host is a leak (I8),
      // logged by the coverage hook.
      allowHosts: ['127.0.0.1'],
      // Sticky: the decided version goes into the `gray` cookie, readable by the page's SDK.
      sticky: { httpOnly: false, secure: false },
      debugHeader: true,
    }),
  );

  app.use(function routeByVersion(req, res, next) {
    const decision = getGrayDecision();
    const fallback = options.config.get().config.default;
    const version = decision?.version ?? fallback;
    const choice = resolveLane(options.lanes, 'orders', version, fallback);
    const hop: GatewayHopRecord = {
      hop: 'gateway',
      instance: options.instance,
      saw: decision?.version ?? null,
      reason: decision?.reason ?? null,
      served: version,
      upstream: choice.instance,
      ...(decision?.ruleId !== undefined ? { rule: decision.ruleId } : {}),
      ...(decision?.rejected
        ? { rejected: `${decision.rejected.source}:${decision.rejected.reason}` }
        : {}),
    };
    routed.set(req, { version, choice, hop });
    res.setHeader(GATEWAY_HOP_HEADER, JSON.stringify(hop));
    next();
  });

  // The edge decision alone, without calling any service (the page and the weighted tour use it).
  app.get(DECISION_PATH, function decisionOnly(req, res) {
    res.json(routed.get(req)?.hop ?? null);
  });

  app.use(
    createProxyMiddleware<IncomingMessage, ServerResponse>({
      pathFilter: '/api',
      pathRewrite: { '^/api': '' },
      router: (req) => routed.get(req)?.choice.url ?? defaultLane().url,
      agent,
      changeOrigin: true,
      xfwd: true,
      proxyTimeout: PROXY_MS,
      on: {
        proxyReq(proxyReq, req) {
          // The edge owns the marker: whatever the client sent (a raw or signed header, a
          // baggage member) is replaced by the decision, so every later hop reads that.
          const version = routed.get(req)?.version;
          if (version !== undefined) proxyReq.setHeader(MARKER_HEADER, version);
          else proxyReq.removeHeader(MARKER_HEADER);
          const baggage = removeBaggageMember(req.headers.baggage, BAGGAGE_KEY);
          if (baggage === undefined) proxyReq.removeHeader('baggage');
          else proxyReq.setHeader('baggage', baggage);
        },
        error(err, _req, res) {
          if ('writeHead' in res && !res.headersSent) {
            res.writeHead(502, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: `upstream unreachable: ${err.message}` }));
          } else {
            res.destroy();
          }
        },
      },
    }),
  );

  if (options.webRoot !== undefined) {
    // The page on the visitor's lane: HTML and bundle from that version's build.
    const fallback = options.config.get().config.default;
    app.use(createAssetLanes({ root: options.webRoot, fallback }));
  }

  const server = createServer(app);
  const port = await listen(server, options.instance, options.port);
  const stop = async (): Promise<void> => {
    await close(server);
    agent.destroy();
  };
  return { instance: options.instance, url: `http://${HOST}:${port}`, close: stop };
}
