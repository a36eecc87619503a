import { describe, expect, it } from 'vitest';
import { createGraylane, editedHeaders, type WebGraylaneOptions } from '../src/index.js';

/*
 * GW-02 (review 167 N3) on the Web engine: a carrier header under another `-`/`_` spelling
 * (`X_Gray_Id`) is the marker to a PHP, WSGI or Rack upstream (`HTTP_X_GRAY_ID`), so neither the
 * app (`handle()`, `editedHeaders`) nor an upstream (`forwardRequest`, `stripCarriers`) sees it,
 * in any trust mode; the decided marker is written once under graylane's own name, and headers
 * that only resemble a carrier stay.
 */

const config = {
  versions: ['stable', 'beta', 'canary'],
  default: 'stable',
  rules: [
    {
      id: 'ramp',
      split: [
        { version: 'beta', weight: 30 },
        { version: 'stable', weight: 70 },
      ],
      bucketBy: 'header:x-user',
    },
  ],
};
const MODES: [string, Partial<WebGraylaneOptions>][] = [
  ['open', {}],
  ['signed', { trust: 'signed', keys: { k1: 'a-web-signing-key-of-32-bytes!!!' } }],
  ['edge', { trust: 'edge' }],
];
/** Spellings of the marker, member and bucket headers that CGI-style readers fold together. */
const SPELLED = [
  'x_gray-id',
  'x-gray_id',
  'x_gray_id',
  'X_GRAY_ID',
  'X_Gray-Id',
  'uberctx_gray',
  'UBERCTX_GRAY',
  'ot_baggage-gray',
  'ot-baggage_gray',
  'ot_baggage_gray',
  'x_gray-bucket',
  'x-gray_bucket',
  'x_gray_bucket',
];
/** Names that only resemble a carrier: kept byte for byte. */
const LOOKALIKE = { 'x-gray-idx': 'k1', x_gray_id_2: 'k2', 'xx-gray-id': 'k3', 'x-grayid': 'k4' };
const CARRIERS = ['x-gray-id', 'uberctx-gray', 'ot-baggage-gray', 'x-gray-bucket'];
const fold = (name: string): string => name.toLowerCase().replace(/_/g, '-');

/** Carrier headers of `headers` in another spelling than graylane's own. */
function spelledIn(headers: Headers): string[] {
  return [...headers.keys()].filter((n) => CARRIERS.includes(fold(n)) && !CARRIERS.includes(n));
}

const ROWS = MODES.flatMap(([m, o]) => SPELLED.map((name) => [m, name, o] as const));

describe('GW-02 the Web engine: carrier headers under their -/_ spellings', () => {
  it.each(ROWS)(
    'GW-02 %s, %s: gone from handle(), editedHeaders, forwardRequest, stripCarriers',
    async (_m, name, o) => {
      const gray = createGraylane({ config, bucketHeader: true, ...o } as WebGraylaneOptions);
      const make = () =>
        new Request('https://app.example/p?q=1', {
          headers: { [name]: 'canary', 'x-user': 'user-42', ...LOOKALIKE },
        });
      let seen: Headers | undefined;
      let served = '';
      await gray.handle(make(), (request, outcome) => {
        seen = request.headers;
        served = outcome.decision.version;
        return new Response('ok');
      });
      const outcome = await gray.decide(make());
      const edited = editedHeaders(make().headers, outcome.edits);
      const forwarded = gray.forwardRequest(make(), outcome, 'https://up.internal/p?q=1').headers;
      const stripped = gray.stripCarriers(make()).headers;
      for (const [what, h] of [
        ['handle()', seen ?? new Headers()],
        ['editedHeaders', edited],
        ['forwardRequest', forwarded],
        ['stripCarriers', stripped],
      ] as const) {
        expect(spelledIn(h), what).toEqual([]);
        for (const [k, v] of Object.entries(LOOKALIKE)) expect(h.get(k), `${what}: ${k}`).toBe(v);
      }
      // A spelling is never read as the marker: the version is what no marker would give.
      expect(served).toBe(outcome.decision.version);
      expect(outcome.decision.version).not.toBe('canary');
      expect(forwarded.get('x-gray-id')).toBe(outcome.decision.version);
      expect(stripped.get('x-gray-id')).toBeNull();
    },
  );
});
