import type { IncomingMessage } from 'node:http';
import { hostOnly, type InboundCarrier } from '@graylane/core';

export type { InboundCarrier } from '@graylane/core';

/** The structural part of `IncomingMessage` graylane reads. */
export interface IncomingMessageLike {
  readonly headers: IncomingMessage['headers'];
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly socket?: {
    readonly remoteAddress?: string | undefined;
    readonly encrypted?: boolean;
  } | null;
}

/** @internal Wraps a Node request. Reads lazily; never throws. */
export function fromIncomingMessage(req: IncomingMessageLike): InboundCarrier {
  const headers = req.headers;
  const socket = req.socket ?? undefined;
  return {
    header: (name) => headers[name],
    headers,
    method: req.method,
    url: req.url,
    host: hostOnly(headers.host),
    secure: socket?.encrypted === true,
    remoteAddress: socket?.remoteAddress,
    strip(name) {
      delete headers[name];
    },
  };
}
