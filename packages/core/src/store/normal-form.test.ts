import { describe, expect, it } from 'vitest';
import { re2 } from '../../test/fixtures.js';
import { BASE, DIFFER, EQUAL, noisy, variant, type Doc } from '../../test/normal-form-rows.js';
import { MATCH_KEYS } from '../config/match.js';
import { normalizeDocument } from '../config/normalize.js';
import { parseConfig, ROOT_KEYS } from '../config/parse.js';
import { RULE_KEYS } from '../config/rule.js';
import type { GrayConfig } from '../config/types.js';
import { decide } from '../rules/evaluate.js';
import type { GrayRequest } from '../rules/types.js';
import { createStatusModel } from '../status/model.js';
import { createConfigStore } from './store.js';
import type { ConfigEvent } from './types.js';

/*
 * I6 / CFG-12 (review 169 N1): the store compares what a document means, not how it is spelled.
 * A document that spells a default out, writes a header name in capitals, an instant in another
 * offset or a split in basis points is `unchanged` — no change event, no version bump, no reload
 * entry on the status page, the same hash — and decides every request alike (the oracle below).
 * A document that changes one meaningful thing is `changed`, and the change report names exactly
 * that thing even when the new document also spells every default out.
 */

const parse = (doc: unknown): GrayConfig => parseConfig(doc, { regex: re2 });

/** Requests across every condition of BASE, at instants around its windows and ramp steps. */
const REQUESTS: GrayRequest[] = (() => {
  const out: GrayRequest[] = [];
  const instants = [
    '2026-11-30T23:59:59.999Z',
    '2026-12-01T00:00:00Z',
    '2026-12-01T09:30:00Z',
    '2026-12-01T12:30:00Z',
    '2026-12-02T10:00:00Z',
    '2026-12-31T23:59:59.999Z',
    '2027-01-01T00:00:00Z',
  ].map(Date.parse);
  const people = [
    { headers: { 'x-user-group': 'qa' } },
    { headers: { 'x-user-group': 'QA', 'x-anon-id': 'anon-7' } },
    { headers: { 'x-anon-id': 'anon-3' }, cookies: { region: 'sh', gray_uid: 'u-1' } },
    { cookies: { region: 'bj', gray_uid: 'u-42' }, query: { src: 'ad-summer' } },
    { cookies: { Region: 'bj', gray_uid: 'u-9' }, query: { Src: 'ad-x' }, attrs: { userId: 'u9' } },
    { attrs: { userId: 'user-1', tier: 'gold' }, query: { src: 'ads-1' } },
  ];
  const lines = [
    { method: 'GET', host: 'api.example.com', path: '/api/checkout/cart' },
    { method: 'POST', host: 'api.example.com', path: '/API/checkout' },
    { method: 'PUT', host: 'www.example.com', path: '/api/checkout' },
    { method: 'GET', host: '127.0.0.1', path: '/' },
    { method: 'GET', host: 'xn--bcher-kva.example', path: '/api/checkout/x' },
  ];
  for (const now of instants)
    for (const who of people) for (const line of lines) out.push({ ...line, ...who, now });
  for (let i = 0; i < 200; i++)
    out.push({
      cookies: { gray_uid: `u-${i}` },
      attrs: { userId: `id-${i}` },
      now: instants[i % instants.length],
    });
  return out;
})();

function watched(initial: unknown) {
  const store = createConfigStore({ initial, regex: re2 });
  const events: ConfigEvent[] = [];
  store.subscribe((e) => events.push(e));
  const status = createStatusModel({ store });
  return { store, events, status };
}

describe('I6 CFG-12 (review 169 N1) equal in meaning: unchanged through the store', () => {
  it.each(EQUAL)('$name', (row) => {
    const a = parse(row.a ?? BASE);
    const { store, events, status } = watched(row.a ?? BASE);
    const result = store.update(row.b, { source: 'file' });
    expect(result.status).toBe('unchanged');
    expect(store.get().version).toBe(1);
    expect(events).toEqual([]);
    expect(status.report().reloads).toEqual([]);
    const b = parse(row.b);
    expect(b.canonical).toBe(a.canonical);
    expect(b.hash).toBe(a.hash);
    // What the backup holds (the canonical text) loads as the same config (SRC-04).
    expect(parse(b.canonical).canonical).toBe(b.canonical);
    expect(store.update(b.canonical, { source: 'backup' }).status).toBe('unchanged');
    for (const request of REQUESTS) expect(decide(b, request)).toEqual(decide(a, request));
    status.close();
  });
});

describe('I6 CFG-12 (review 169 N1) one meaningful change: named exactly, whatever the spelling', () => {
  it.each(DIFFER)('$name', (row) => {
    const next: Doc = noisy(variant(row.edit));
    const { store, events, status } = watched(BASE);
    const result = store.update(next, { source: 'file' });
    expect(result.status).toBe('changed');
    expect(store.get().version).toBe(2);
    expect(events).toHaveLength(1);
    const event = events[0] as Extract<ConfigEvent, { type: 'change' }>;
    expect(event.changedRuleIds).toEqual(row.changedRuleIds);
    expect(event.settingsChanged).toBe(row.settingsChanged);
    const [entry] = status.report().reloads;
    expect(entry).toMatchObject({ type: 'change', settingsChanged: row.settingsChanged });
    const named =
      entry?.type === 'change' ? [...entry.added, ...entry.removed, ...entry.modified] : [];
    expect(named.sort()).toEqual([...row.changedRuleIds].sort());
    // The same change in its minimal spelling is no further change.
    expect(store.update(variant(row.edit), { source: 'file' }).status).toBe('unchanged');
    expect(store.get().version).toBe(2);
    status.close();
  });
});

describe('I6 CFG-12 the normal form keeps every field the schema has', () => {
  // BASE with the fields it leaves at their defaults set otherwise: no default is spelled out, so
  // the normal form must keep every key of it. A field added to the validator (ROOT_KEYS,
  // RULE_KEYS, MATCH_KEYS) and not to normalizeDocument fails here, not in a user's backup.
  const FULL = variant((d) => {
    d['caseInsensitive'] = true;
    const canary = d.rules?.find((r) => r.id === 'canary');
    if (!canary) throw new Error('BASE has no canary rule');
    Object.assign(canary, { salt: 'canary-2025', bucketVersion: 2, sticky: 'reevaluate' });
  });
  /** Every key path of `doc` (`rules.1.match.path`), arrays by index. */
  const paths = (doc: unknown, at = ''): string[] =>
    doc !== null && typeof doc === 'object'
      ? Object.entries(doc).flatMap(([k, v]) => [`${at}${k}`, ...paths(v, `${at}${k}.`)])
      : [];
  const used = (level: (p: string[]) => boolean): Set<string> =>
    new Set(
      paths(FULL)
        .map((p) => p.split('.'))
        .filter(level)
        .map((p) => p[p.length - 1] as string),
    );

  it('CFG-12 the table uses every field the validator accepts', () => {
    expect(parse(FULL).rules.length).toBeGreaterThan(0);
    const root = used((p) => p.length === 1);
    const rule = used((p) => p.length === 3 && p[0] === 'rules');
    const match = used((p) => p.length === 4 && p[0] === 'rules' && p[2] === 'match');
    expect([...ROOT_KEYS].filter((k) => k !== '$schema' && !root.has(k))).toEqual([]);
    expect([...RULE_KEYS].filter((k) => !rule.has(k))).toEqual([]);
    expect([...MATCH_KEYS].filter((k) => !match.has(k))).toEqual([]);
  });

  it('CFG-12 normalizeDocument drops no field that is not a default', () => {
    const normal = normalizeDocument(FULL as Parameters<typeof normalizeDocument>[0]);
    expect(paths(FULL).filter((p) => !paths(normal).includes(p))).toEqual([]);
    const [a, b] = [parse(FULL), parse(normal)];
    expect(b.canonical).toBe(a.canonical);
    for (const request of REQUESTS) expect(decide(b, request)).toEqual(decide(a, request));
  });
});
