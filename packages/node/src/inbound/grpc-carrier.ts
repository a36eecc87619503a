import { hostOnly, UNIX_PEER, type CarrierEdits, type InboundCarrier } from '@graylane/core';

/**
 * The part of a grpc-js `Metadata` graylane reads and edits. Keys are lower-case (grpc-js
 * normalises them); values are strings, or `Buffer`s under `-bin` keys.
 */
export interface GrpcServerMetadataLike {
  get(key: string): readonly unknown[];
  set(key: string, value: string): void;
  remove(key: string): void;
}

/**
 * What graylane reads of one incoming gRPC call: a grpc-js server call (`ServerUnaryCall`,
 * `ServerReadableStream`, `ServerWritableStream`, `ServerDuplexStream`), or what the server
 * interceptor hands to `attributes`, `subject` and `onDecision` (the same methods).
 */
export interface GrpcServerCallLike {
  readonly metadata: GrpcServerMetadataLike;
  /** `ipv4-or-ipv6-address:port` (grpc-js 1.10+), or `unknown`. */
  getPeer(): string;
  /** The method path, `/package.Service/Method`. */
  getPath(): string;
  /** The `:authority` the client sent. */
  getHost?(): string;
  getAuthContext?(): { readonly transportSecurityType?: string | undefined } | undefined;
}

/** The call as the carrier reads it; `address` when the platform knows the peer exactly. */
export interface GrpcCallSource {
  readonly call: GrpcServerCallLike;
  /** The peer IP from grpc-js's connection info (interceptors), else parsed from `getPeer()`. */
  readonly address?: (() => string | undefined) | undefined;
}

/**
 * A gRPC call's metadata as request headers (gRPC has no cookies, query or response headers of
 * its own): a key's one value as a string, several as a list in order, `-bin` keys never. The
 * method path is the URL (so `path` rules match `/pkg.Service/Method`), `:authority` the host,
 * the peer the remote address, and the method `POST` (what every gRPC call is on the wire).
 * Reads lazily; never throws. A class, so a call costs one small object.
 */
export class GrpcCarrier implements InboundCarrier {
  private lookup: ((name: string) => string | undefined) | undefined = undefined;
  constructor(private readonly source: GrpcCallSource) {}

  header(name: string): string | readonly string[] | undefined {
    return metadataValues(this.source.call, name);
  }
  /** For header rules: several values joined with `, `, as Node joins repeated headers. */
  get headers(): (name: string) => string | undefined {
    return (this.lookup ??= (name) => {
      const v = metadataValues(this.source.call, name);
      return typeof v === 'string' || v === undefined ? v : v.join(', ');
    });
  }
  get method(): string {
    return 'POST';
  }
  get url(): string | undefined {
    try {
      const path = this.source.call.getPath();
      return typeof path === 'string' && path !== '' ? path : undefined;
    } catch {
      return undefined;
    }
  }
  get host(): string | undefined {
    try {
      const host = this.source.call.getHost?.();
      return typeof host === 'string' ? hostOnly(host) : undefined;
    } catch {
      return undefined;
    }
  }
  /**
   * TLS as grpc-js reports it: only a verified client certificate (mTLS) says `ssl`, so a TLS
   * server without client certificates reads as plain. It decides `Secure` on sticky cookies
   * only, which gRPC never writes.
   */
  get secure(): boolean {
    try {
      return this.source.call.getAuthContext?.()?.transportSecurityType === 'ssl';
    } catch {
      return false;
    }
  }
  get remoteAddress(): string | undefined {
    try {
      const exact = this.source.address?.();
      if (exact !== undefined) return exact;
      return peerAddress(this.source.call.getPeer());
    } catch {
      return undefined;
    }
  }
  edit(edits: CarrierEdits): void {
    editMetadata(this.source.call.metadata, edits);
  }
}

/** Binary metadata (`-bin`) is never a marker, a rule's header or a place for one. */
const BINARY_SUFFIX = '-bin';

function metadataValues(
  call: GrpcServerCallLike,
  name: string,
): string | readonly string[] | undefined {
  if (name.endsWith(BINARY_SUFFIX) || name.charCodeAt(0) === 0x3a) return undefined;
  let values: readonly unknown[];
  try {
    values = call.metadata.get(name);
  } catch {
    return undefined;
  }
  if (!Array.isArray(values) || values.length === 0) return undefined;
  if (values.length === 1) return typeof values[0] === 'string' ? values[0] : undefined;
  const text = values.filter((v): v is string => typeof v === 'string');
  return text.length === 0 ? undefined : text.length === 1 ? text[0] : text;
}

/**
 * Applies the engine's edits to the call's metadata, in place (what the handler, later
 * interceptors and a proxy forwarding `call.metadata` see: GW-01/02). A value grpc-js refuses is
 * removed instead: the client's marker never survives an edit. Never throws.
 */
export function editMetadata(metadata: GrpcServerMetadataLike, edits: CarrierEdits): void {
  for (const [name, value] of edits.headers) {
    try {
      if (value === null) metadata.remove(name);
      else metadata.set(name, value);
    } catch {
      try {
        metadata.remove(name);
      } catch {
        // frozen metadata keeps what it has
      }
    }
  }
}

/**
 * The peer IP in grpc-js's `getPeer()`: `address:port` (grpc-js 1.10+ writes IPv6 without
 * brackets, `::1:50051`, and always with the port for TCP), `[v6]:port`, the `ipv4:` / `ipv6:`
 * forms of gRPC core, `unix:…` for a Unix domain socket peer. `unknown` and anything else:
 * undefined (an untrusted peer).
 */
export function peerAddress(peer: unknown): string | undefined {
  if (typeof peer !== 'string' || peer === '' || peer.length > MAX_PEER_LENGTH) return undefined;
  let p = peer;
  if (/^unix:/i.test(p)) return UNIX_PEER;
  if (/^ipv[46]:/i.test(p)) p = p.slice(5);
  if (p.charCodeAt(0) === 0x5b) {
    const end = p.indexOf(']');
    return end === -1 ? undefined : p.slice(1, end);
  }
  const last = p.lastIndexOf(':');
  if (last === -1) return p === 'unknown' ? undefined : p;
  // `host:port`: the port is the digits after the last colon (for IPv6 too, see above).
  return /^\d{1,5}$/.test(p.slice(last + 1)) ? p.slice(0, last) : undefined;
}

/** Longer than any `[IPv6%zone]:port` or `unix:` path graylane would trust. */
const MAX_PEER_LENGTH = 512;
