import { ROOT_CONTEXT, defaultTextMapGetter, propagation } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { describe, expect, it } from 'vitest';
import { readBaggageMember } from '../src/markers/baggage.js';

/**
 * CONF-03: OpenTelemetry's W3CBaggagePropagator boundary cases (180 members, 4096 per member,
 * 8192 total, the "163 accepted" fixture), run against our bounded reader *and* the pinned
 * @opentelemetry/core, so an upgrade that moves OTel's limits is caught here.
 */
const otel = new W3CBaggagePropagator();
function otelValue(header: string | string[], key: string): string | undefined {
  const ctx = otel.extract(ROOT_CONTEXT, { baggage: header }, defaultTextMapGetter);
  return propagation.getBaggage(ctx)?.getEntry(key)?.value;
}
function ours(header: string | string[], key: string): string | undefined {
  const r = readBaggageMember(header, key);
  return r.kind === 'value' ? r.value : undefined;
}

const fixtures: [string, string | string[], string][] = [
  ['single member', 'gray=beta', 'gray'],
  ['properties', 'gray=beta;ttl=10;prio', 'gray'],
  ['OWS around key and value', ' gray = beta ', 'gray'],
  ['percent-encoded value', 'gray=be%74a', 'gray'],
  ['bad encoding dropped', 'gray=%ZZ', 'gray'],
  ['empty value dropped', 'gray=', 'gray'],
  [
    'member 180 is read',
    Array.from({ length: 180 }, (_, i) => (i === 179 ? 'gray=beta' : `k${i}=v`)).join(','),
    'gray',
  ],
  [
    'member 181 is not read',
    Array.from({ length: 181 }, (_, i) => (i === 180 ? 'gray=beta' : `k${i}=v`)).join(','),
    'gray',
  ],
  ['4096-byte member kept', `big=${'x'.repeat(4092)},gray=beta`, 'big'],
  ['4097-byte member skipped', `big=${'x'.repeat(4093)},gray=beta`, 'gray'],
  ['total 8192 reached exactly', `a=${'x'.repeat(4094)},b=${'y'.repeat(4083)},gray=beta`, 'gray'],
  ['total 8192 exceeded', `a=${'x'.repeat(4094)},b=${'y'.repeat(4084)},gray=beta`, 'gray'],
  [
    'combined headers share the limits',
    [Array.from({ length: 179 }, (_, i) => `k${i}=v`).join(','), 'gray=beta,late=1'],
    'late',
  ],
];

/**
 * AMP-01: the one deliberate difference. OTel skips unparsable entries without counting them, so
 * a header of junk is scanned to its end; our reader counts every entry toward 180 members (and
 * every entry up to 4096 bytes toward 8192 bytes), so junk stops the scan as early as valid
 * members do. Both readers still agree on every header whose first 180 entries are valid.
 */
const divergent: [string, string, string][] = [
  [
    '50 invalid entries, then 179 valid ones, then gray',
    [
      ...Array.from({ length: 50 }, () => 'novalue='),
      ...Array.from({ length: 179 }, (_, i) => `k${i}=v`),
      'gray=beta',
    ].join(','),
    'gray',
  ],
  ['200 empty entries, then gray', `${','.repeat(200)}gray=beta`, 'gray'],
  ['200 bad escapes, then gray', `${'%ZZ=%ZZ,'.repeat(200)}gray=beta`, 'gray'],
];

describe('CONF-03 OTel W3CBaggagePropagator boundary fixtures', () => {
  it.each(fixtures)('%s: our reader agrees with @opentelemetry/core', (_name, header, key) => {
    expect(ours(header, key)).toBe(otelValue(header, key));
  });

  it.each(divergent)('AMP-01 %s: OTel reads it, our bounded reader stops first', (_n, h, key) => {
    expect(otelValue(h, key)).toBe('beta');
    expect(ours(h, key)).toBeUndefined();
  });

  it('50-byte members stop at the 8192-byte total (160 accepted) in both readers', () => {
    const member = (i: number) => `key${String(i).padStart(3, '0')}=${'v'.repeat(43)}`;
    const header = Array.from({ length: 200 }, (_, i) => member(i)).join(',');
    const ctx = otel.extract(ROOT_CONTEXT, { baggage: header }, defaultTextMapGetter);
    const accepted = propagation.getBaggage(ctx)?.getAllEntries().length;
    expect(accepted).toBe(160);
    expect(ours(header, 'key159')).toBe('v'.repeat(43));
    expect(ours(header, 'key160')).toBeUndefined();
  });
});
