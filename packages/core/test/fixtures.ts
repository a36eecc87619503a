import { RE2JS } from 're2js';
import type { InboundCarrier } from '../src/inbound/carrier.js';
import { createRe2Engine } from '../src/regex.js';

/** The readable sample document from the core issue. */
export const SAMPLE = {
  versions: ['stable', 'beta'],
  default: 'stable',
  rules: [
    { id: 'qa', match: { header: { 'x-user-group': { equals: 'qa' } } }, version: 'beta' },
    {
      id: 'checkout',
      match: { path: { prefix: '/api/checkout' }, cookie: { region: { in: ['sh', 'bj'] } } },
      version: 'beta',
      window: { from: '2026-12-01T00:00:00Z', until: '2027-01-01T00:00:00Z' },
    },
    {
      id: 'canary',
      split: [
        { version: 'beta', weight: 5 },
        { version: 'stable', weight: 95 },
      ],
      bucketBy: 'cookie:gray_uid',
    },
  ],
};

export const re2 = createRe2Engine(RE2JS);

/** A config with one weighted rule bucketed on `attr:userId`. */
export function splitConfig(betaWeight: number, salt = 'ramp') {
  return {
    versions: ['stable', 'beta'],
    default: 'stable',
    rules: [
      {
        id: 'ramp',
        salt,
        split: [
          { version: 'beta', weight: betaWeight },
          { version: 'stable', weight: 100 - betaWeight },
        ],
        bucketBy: 'attr:userId',
      },
    ],
  };
}

/**
 * A carrier over plain data, as a platform would build it: `headers` as given (names already
 * lower case), a GET of `/` on `app.example` from `10.0.0.1` unless `overrides` says otherwise.
 */
export function plainCarrier(
  headers: Record<string, string>,
  overrides: Partial<InboundCarrier> = {},
): InboundCarrier {
  return {
    header: (name) => headers[name],
    headers,
    method: 'GET',
    url: '/',
    host: 'app.example',
    secure: false,
    remoteAddress: '10.0.0.1',
    ...overrides,
  };
}
