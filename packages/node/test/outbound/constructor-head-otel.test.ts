import http from 'node:http';
import { createRequire } from 'node:module';
import { context, propagation, type Baggage } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installGlobal, runWithGray } from '../../src/index.js';
import { startTopology, type Hop, type Topology } from './servers.js';

/*
 * OTB-01, I8 with `installGlobal()` and OpenTelemetry's http instrumentation patched first (the
 * usual order: the SDK starts before the app calls installGlobal, so OpenTelemetry's wrapper runs
 * below graylane's). It copies the context baggage — `gray=beta` included — into the options'
 * headers after graylane saw them. With an `Expect` header Node renders the head in the
 * ClientRequest constructor: the old code could not change it, so OpenTelemetry's `gray` member
 * went to every host and an allowlisted host got no `X-Gray-Id`. graylane now holds `Expect`
 * back while the request is built, judges the head with what OpenTelemetry added, then renders it.
 */

let topo: Topology;
let seq = 0;
let uninstall: () => void;
let otel: HttpInstrumentation;
let bag: Baggage;

beforeAll(async () => {
  topo = await startTopology();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CBaggagePropagator());
  bag = propagation.createBaggage({ a: { value: '1' } });
  otel = new HttpInstrumentation();
  // require-in-the-middle patches node:http when it is required.
  createRequire(import.meta.url)('node:http');
  expect(http.request.name, 'OpenTelemetry wrapped http.request').toBe('outgoingRequest');
  uninstall = installGlobal();
});
afterAll(async () => {
  uninstall();
  otel.disable();
  context.disable();
  propagation.disable();
  await topo.close();
});

type Headers = http.OutgoingHttpHeaders;
const SHAPES: [string, Headers][] = [
  ['Expect: 100-continue', { Expect: '100-continue' }],
  ['Expect last, value in an array', { 'x-app': '1', Expect: ['100-continue'] }],
  [
    'EXPECT, null-prototype object',
    Object.assign(Object.create(null) as object, { EXPECT: '100-continue' }),
  ],
];

type Call = (url: string, headers: Headers) => Promise<void>;
const send =
  (method: 'request' | 'get'): Call =>
  (url, headers) =>
    new Promise((resolve, reject) => {
      const req = http[method](
        url,
        { method: method === 'get' ? 'GET' : 'POST', headers, signal: AbortSignal.timeout(3000) },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      if (method === 'request') req.on('continue', () => req.end('body'));
    });
const CALLS: [string, Call][] = [
  ['http.request', send('request')],
  ['http.get', send('get')],
];

function members(hop: Hop): string[] {
  return hop.baggage.flatMap((v) => v.split(',')).map((m) => m.trim());
}

describe.each(SHAPES)('%s', (_shape, headers) => {
  it.each(
    (['b', 'name', 'v6'] as const).flatMap((other) =>
      CALLS.map(([callName, call]) => [`${callName} → a and ${other}`, other, call] as const),
    ),
  )(
    "OTB-01 I8 OpenTelemetry's gray member in a head Node renders in the constructor: %s",
    async (name, other, call) => {
      for (const to of ['a', other] as const) {
        const id = `o${++seq}`;
        await context.with(propagation.setBaggage(context.active(), bag), () =>
          runWithGray('beta', () => call(`${topo[to].origin}/echo/${id}`, headers), {
            allowHosts: [topo.a.origin],
          }),
        );
        const [hop] = topo.hops(id) as [Hop];
        const where = `${name}: ${to}`;
        expect(hop.grayIds, `${where}: X-Gray-Id`).toEqual(to === 'a' ? ['beta'] : []);
        expect(
          members(hop).filter((m) => m.startsWith('gray')),
          `${where}: gray members`,
        ).toEqual(to === 'a' ? ['gray=beta'] : []);
        expect(members(hop), `${where}: OpenTelemetry's other member kept`).toContain('a=1');
      }
    },
  );
});
