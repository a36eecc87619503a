import type { ConfigDocument, GrayConfig } from '../config/types.js';
import type { AllowEntry } from '../propagation/allowlist.js';
import type { MarkerSource } from '../reasons.js';
import type { Decision } from '../rules/types.js';
import type { KeyRing } from '../signed/keys.js';
import type { ConfigStore } from '../store/types.js';

/** How far client-supplied markers are trusted (RELIABILITY HDR-13/HDR-14). */
export type TrustMode = 'open' | 'signed' | 'edge';

/** Attribute values a caller supplies for rules (e.g. `userId` from authentication). */
export type GrayAttributes = Record<string, string | number | boolean | undefined>;

/** Marker carrier names. `false` switches a carrier off. */
export interface MarkerNames {
  /** Header name, case-insensitive. Default `x-gray-id`. */
  readonly header?: string;
  /**
   * Cookie base name. Default `gray`. Read as every name the browser SDK writes for it, first
   * present wins: `__Host-<name>`, `__Secure-<name>`, `<name>`; a name with a prefix alone.
   */
  readonly cookie?: string | false;
  /**
   * Query parameter. Default `gray` in `open` mode; off in `signed` and `edge` (a token in a URL
   * ends up in logs, history and `Referer`: set it explicitly to accept signed tokens there).
   */
  readonly query?: string | false;
  /** W3C baggage key, read inbound and written outbound. Default `gray`. */
  readonly baggage?: string | false;
}

/** Sticky-assignment cookies. */
export interface StickyOptions {
  /** Write the version cookie after a weighted (or re-decided) assignment. Default `true`. */
  readonly cookie?: boolean;
  /**
   * Anonymous subject cookie for `bucketBy: "cookie:NAME"` splits. Default: every cookie name
   * used by a split in the config; a string limits it to that name; `false` turns it off.
   */
  readonly subjectCookie?: string | false;
  /** Clamped to 30 days. Default 30 days. */
  readonly maxAgeSeconds?: number;
  /** `auto` (default): `Secure` when the request arrived over TLS. */
  readonly secure?: boolean | 'auto';
  /** Default `true`. */
  readonly httpOnly?: boolean;
  /**
   * Marker carriers whose marker is written into the version cookie (STK-02). Default `false`:
   * a header, query or baggage marker serves its own request only. `true` means all three. In
   * `signed` mode the cookie holds the same token — its own key id and expiry, never re-signed
   * with a newer key and never outliving the token (STK-01).
   */
  readonly persistMarkers?: boolean | readonly ('header' | 'query' | 'baggage')[];
}

/**
 * Options of the inbound engine, for any platform. `R` is whatever request object the platform
 * hands to the callbacks (a Node `IncomingMessage`, a koa `ctx`, a Fetch `Request`, a hono `c`).
 */
export interface InboundOptions<R> {
  /** A parsed config, a document (object or JSON text), or a config store. */
  readonly config: GrayConfig | ConfigDocument | string | ConfigStore;
  /** Default `open`. */
  readonly trust?: TrustMode;
  /** `signed` mode: key id → HMAC-SHA256 key (≥ 16 bytes). The first entry signs sticky cookies. */
  readonly keys?: KeyRing;
  /** `signed` mode: the key id that signs sticky cookies. Default: the first key. */
  readonly signingKid?: string;
  /** `signed` mode: the subject a token must be bound to (e.g. the user id). */
  readonly subject?: (req: R) => string | undefined;
  /**
   * `edge` mode: peers whose markers are honoured as in `open` — IPv4/IPv6 addresses or CIDR
   * networks (`10.0.0.0/8`); IPv4 entries also match `::ffff:` peers on dual-stack listeners;
   * `'unix'` trusts the peers of a server listening on a Unix domain socket. In every mode, their `X-Forwarded-Proto: https` counts as TLS for sticky cookies (`Secure`,
   * the `__Host-` name).
   */
  readonly trustedProxies?: readonly string[];
  readonly markers?: MarkerNames;
  /** Default `['header', 'cookie', 'query', 'baggage']`. */
  readonly precedence?: readonly MarkerSource[];
  /** Caller attributes for rules (`attrs.userId`). Errors are caught and mean "no attributes". */
  readonly attributes?: (req: R) => GrayAttributes | undefined;
  /** Outbound targets that receive the marker. Default: none. */
  readonly allowHosts?: readonly AllowEntry[];
  /** Sticky cookies. Default off; `true` means the defaults of {@link StickyOptions}. */
  readonly sticky?: boolean | StickyOptions;
  /** Adds an `X-Gray-Decision` response header. Default `false`; never enable it by default in production. */
  readonly debugHeader?: boolean;
  /**
   * Puts the subject's bucket (`0`–`9999`) on the request the app and any proxy behind it see,
   * for weighted decisions, so a proxy's weighted split picks the same arm (Envoy
   * `weighted_clusters` with `header_name`: `graylane render envoy --bucket-header`). A header of
   * that name sent by the client is replaced, or removed when the decision was not weighted.
   * Default off; `true` uses `x-gray-bucket`, a string names the header.
   */
  readonly bucketHeader?: boolean | string;
  /** Called once per decided request; errors are caught. */
  readonly onDecision?: (decision: Decision, req: R) => void;
  /** Server clock for rule time windows and token expiry (epoch ms). Default `Date.now`. */
  readonly now?: () => number;
}
