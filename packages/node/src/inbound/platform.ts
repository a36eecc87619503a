import { randomUUID } from 'node:crypto';
import { validateHeaderName } from 'node:http';
import type { InboundCounters, InboundPlatform } from '@graylane/core';
import { nodeRegexEngine } from '../config/store.js';
import { nodeHmac } from '../signing/hmac.js';

/** @internal What Node gives core's inbound engine: sync HMAC, UUIDs, Node's header check, RE2JS. */
export function nodePlatform(counters: InboundCounters): InboundPlatform {
  return {
    hmacSha256: nodeHmac,
    randomId: randomUUID,
    isHeaderName: (name) => {
      validateHeaderName(name);
      return true;
    },
    regex: nodeRegexEngine(),
    counters,
    warn: (message) => console.warn(message),
  };
}
