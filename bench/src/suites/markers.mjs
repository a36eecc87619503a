// Inbound marker read: what the middleware does per request to find the marker — header
// (`parseMarker`), cookie (`readCookie` + `parseMarker`), baggage (`readBaggageMember` +
// `parseMarker`) — against OTel's `W3CBaggagePropagator.extract` + `getEntry` on the same
// baggage headers. Same approach as packages/otel/bench/baggage-read.mjs, in the shared runner.
import { parseConfig, parseMarker, readBaggageMember, readCookie } from '@graylane/core';
import { ROOT_CONTEXT, defaultTextMapGetter, propagation } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { compareOps, fmt, goal } from '../measure.mjs';
import { baggageHeader, rulesDocument } from '../lib/fixtures.mjs';

const GOAL_RATIO_10 = 3;
const config = parseConfig(rulesDocument(10));
const propagator = new W3CBaggagePropagator();

const graylaneBaggage = (header) => {
  const r = readBaggageMember(header, 'gray');
  return r.kind === 'value' ? parseMarker(r.value, config) : undefined;
};
const otelBaggage = (header) => {
  const ctx = propagator.extract(ROOT_CONTEXT, { baggage: header }, defaultTextMapGetter);
  return propagation.getBaggage(ctx)?.getEntry('gray')?.value;
};
const version = (m) => (m?.kind === 'valid' ? m.version : undefined);

export async function run({ quick }) {
  const opts = { rounds: quick ? 3 : 9, minMs: quick ? 50 : 150 };
  const cookie = 'session=3f2a9c0d1e; theme=dark; lang=en-GB; gray=beta; _ga=GA1.2.3.4';
  const rows = [];
  const goals = [];

  const single = compareOps(
    {
      header: () => version(parseMarker(' beta ', config)),
      cookie: () => {
        const r = readCookie(cookie, 'gray');
        return r.kind === 'value' ? version(parseMarker(r.value, config)) : undefined;
      },
    },
    opts,
  );
  rows.push(['header `X-Gray-Id`', '—', fmt(single.header), '—', '—']);
  rows.push([`cookie (5 cookies, ${cookie.length} B)`, '—', fmt(single.cookie), '—', '—']);

  const cases = quick
    ? [['10 members', baggageHeader(10)]]
    : [
        ['1 member', baggageHeader(1)],
        ['10 members', baggageHeader(10)],
        ['10 members with properties', baggageHeader(10, ';ttl=60;p')],
      ];
  for (const [label, header] of cases) {
    if (version(graylaneBaggage(header)) !== 'beta' || otelBaggage(header) !== 'beta')
      throw new Error(`readers disagree on ${label}`);
    const ops = compareOps(
      { graylane: () => version(graylaneBaggage(header)), otel: () => otelBaggage(header) },
      opts,
    );
    const ratio = ops.graylane / ops.otel;
    rows.push([
      `baggage, ${label}`,
      `${header.length}`,
      fmt(ops.graylane),
      fmt(ops.otel),
      `${ratio.toFixed(1)}×`,
    ]);
    if (label === '10 members')
      goals.push(
        goal(
          'baggage read ≥ 3× OTel W3CBaggagePropagator.extract on 10 members',
          ratio,
          GOAL_RATIO_10,
        ),
      );
  }
  return {
    id: 'markers',
    title: 'Inbound marker read: ops/s (read + validate against the config)',
    header: ['carrier', 'bytes', 'graylane', 'OTel extract + getEntry', 'vs OTel'],
    rows,
    goals,
  };
}
