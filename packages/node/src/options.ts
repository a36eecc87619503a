import type { IncomingMessage } from 'node:http';
import type { InboundOptions } from '@graylane/core';

export type { GrayAttributes, MarkerNames, StickyOptions, TrustMode } from '@graylane/core';

/**
 * Options of {@link createGraylane}: core's inbound options with Node's `IncomingMessage` handed
 * to `attributes`, `subject` and `onDecision`. One object; defaults are applied in one place
 * (core's `resolveInboundOptions`).
 */
export type GraylaneOptions = InboundOptions<IncomingMessage>;
