/**
 * The demo's time bounds, nested so that an inner call always gives up before the call waiting
 * for it: a failure then names the hop that was slow. They guard against hangs and are no
 * performance targets: on 2 busy cores (load average 20) one visit through every hop takes a few
 * seconds, and a slow machine must never read as a broken hop.
 */

/** A service's call to `pricing`, the last hop (inventory over axios, the worker over fetch). */
export const PRICING_CALL_MS = 10_000;

/** `orders`' call to `inventory`, which makes its own pricing call inside. */
export const INVENTORY_CALL_MS = PRICING_CALL_MS + 5_000;

/** `orders`' wait for the worker's receipt: the queue, the worker and its pricing call. */
export const RECEIPT_MS = PRICING_CALL_MS + 5_000;

/** The gateway's wait for `orders`, which calls inventory and then waits for the receipt. */
export const PROXY_MS = INVENTORY_CALL_MS + RECEIPT_MS + 5_000;

/** The tour's wait for one visit through the gateway. */
export const VISIT_MS = PROXY_MS + 5_000;

/**
 * How long the gateway keeps an idle keep-alive connection to an upstream: shorter than any
 * common server's keep-alive timeout (Node 5 s, Apache 5 s, nginx 75 s), so the gateway always
 * closes an idle connection before the upstream does. The other way round, a request sent on a
 * connection the upstream is closing at that moment fails with ECONNRESET (a 502 at the gateway).
 */
export const UPSTREAM_IDLE_MS = 2_000;
