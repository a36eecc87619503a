/**
 * One HTTP visit as the tour makes it: plain `fetch` (no graylane on this side), cookies by hand,
 * and the per-hop records read back from the gateway header and the JSON body.
 */
import { GATEWAY_HOP_HEADER, isHopsBody, type GatewayHopRecord, type HopRecord } from './hop.js';
import { VISIT_MS } from './timeouts.js';

type GatewayHop = GatewayHopRecord;

/** What one visit returned. */
export interface VisitResult {
  readonly status: number;
  readonly gateway: GatewayHop | undefined;
  /** orders, inventory, pricing — in call order. */
  readonly services: readonly HopRecord[];
  /** The queue hop behind orders: the fulfilment worker, then its call to pricing. */
  readonly queue: readonly HopRecord[];
  /** Cookies the gateway set, name → value. */
  readonly setCookies: ReadonlyMap<string, string>;
  /** The request itself failed (no HTTP answer): the network error. */
  readonly error?: string;
  /** A non-200 answer's own explanation (the `error` field of its JSON body), if it gave one. */
  readonly detail?: string;
}

/** A request to make. */
export interface VisitRequest {
  readonly baseUrl: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: ReadonlyMap<string, string>;
}

/** Makes one visit; never throws (network errors come back in `error`). */
export async function visit(req: VisitRequest): Promise<VisitResult> {
  const headers = new Headers(req.headers);
  if (req.cookies && req.cookies.size > 0) {
    headers.set('cookie', [...req.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
  }
  try {
    const res = await fetch(new URL(req.path, req.baseUrl), {
      headers,
      signal: AbortSignal.timeout(VISIT_MS),
    });
    const body: unknown = await res.json().catch(() => undefined);
    const detail = res.status !== 200 ? errorField(body) : undefined;
    return {
      status: res.status,
      gateway: parseGatewayHop(res.headers.get(GATEWAY_HOP_HEADER)),
      services: isHopsBody(body) ? body.hops : [],
      queue: isHopsBody(body) && isHopsBody(body.queue) ? body.queue.hops : [],
      setCookies: parseSetCookies(res.headers.getSetCookie()),
      ...(detail !== undefined ? { detail } : {}),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      status: 0,
      gateway: undefined,
      services: [],
      queue: [],
      setCookies: new Map(),
      error: message,
    };
  }
}

function errorField(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : undefined;
}

function parseGatewayHop(raw: string | null): GatewayHop | undefined {
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as GatewayHop) : undefined;
  } catch {
    return undefined;
  }
}

function parseSetCookies(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const pair = line.split(';', 1)[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq > 0) out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}
