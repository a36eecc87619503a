import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { getJson, startChain } from './spawn-service.js';
import type { Service } from './spawn-service.js';

export interface Seen {
  'x-gray-id'?: string;
  baggage?: string;
  traceparent?: string;
}
export interface Hop {
  service: string;
  version?: string;
  reason?: string;
  seen: Seen;
  downstream?: Hop;
}
export interface SpanJson {
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

export const SERVER = 1; // SpanKind.SERVER
/** The fixtures load the built packages; fail loudly (never skip) when a build is missing. */
export function e2e(name: string, body: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      for (const pkg of ['node', 'otel']) {
        if (!existsSync(new URL(`../../${pkg}/dist/index.cjs`, import.meta.url))) {
          throw new Error(`packages/${pkg}/dist is missing: run \`npm run build\` first`);
        }
      }
    });
    body();
  });
}

export const hopAt = (hop: Hop, service: string): Hop | undefined =>
  hop.service === service ? hop : hop.downstream && hopAt(hop.downstream, service);

let batches = 0;

/** N concurrent requests of mixed versions (50/50 split on x-user, plus explicit markers). */
export async function drive(
  a: Service,
  query: string,
  n = 60,
): Promise<Array<{ id: string; decided: string; atC: Hop; atB?: Hop }>> {
  const batch = ++batches;
  const requests = Array.from({ length: n }, (_, i) => {
    const headers: Record<string, string> = {
      'x-user': `user-${batch}-${i}`,
      'x-req-id': `r${batch}-${i}`,
    };
    if (i % 10 === 0) headers['x-gray-id'] = 'beta';
    return getJson<Hop>(`${a.url}/${query}`, headers).then((hop) => ({
      id: `r${batch}-${i}`,
      decided: hop.version!,
      atC: hopAt(hop, 'c')!,
      ...(hopAt(hop, 'b') ? { atB: hopAt(hop, 'b')! } : {}),
    }));
  });
  return Promise.all(requests);
}

export function expectMixed(results: Array<{ decided: string }>): void {
  const versions = new Set(results.map((r) => r.decided));
  expect(versions).toEqual(new Set(['stable', 'beta']));
}

export async function serverSpans(a: Service, ids: ReadonlySet<string>): Promise<SpanJson[]> {
  const idOf = (s: SpanJson) =>
    (s.attributes['http.request.header.x-req-id'] as string[] | undefined)?.[0] ?? '';
  for (let i = 0; i < 50; i++) {
    const spans = (await getJson<SpanJson[]>(`${a.url}/__spans`)).filter(
      (s) => s.kind === SERVER && s.attributes['http.request.header.x-req-id'],
    );
    const mine = spans.filter((s) => ids.has(idOf(s)));
    if (mine.length >= ids.size) return mine;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server spans were not exported');
}

/** Every request's server span in A carries the version A decided and a closed-set reason. */
export async function expectSpansMatch(
  a: Service,
  results: Array<{ id: string; decided: string }>,
): Promise<void> {
  const ids = new Set(results.map((r) => r.id));
  const spans = await serverSpans(a, ids);
  const byId = new Map(
    spans.map((s) => [(s.attributes['http.request.header.x-req-id'] as string[])[0], s]),
  );
  for (const r of results) {
    const span = byId.get(r.id);
    expect(span?.attributes['graylane.version'], r.id).toBe(r.decided);
    expect(['header', 'weight'], r.id).toContain(span?.attributes['graylane.reason']);
  }
}

/** The `gray` members of a received (possibly combined) baggage header, trimmed. */
export function grayMembers(baggage: string | undefined): string[] {
  return (baggage ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m.startsWith('gray='));
}

/**
 * Starts the chain before the suite's tests and stops it after; fills `chain` in place so tests
 * can keep a plain array reference.
 */
export function useChain(chain: Service[], specs: Parameters<typeof startChain>[0]): void {
  beforeAll(async () => {
    chain.push(...(await startChain(specs)));
  }, 60_000);
  afterAll(() => Promise.all(chain.map((s) => s.stop())));
}
