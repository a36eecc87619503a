import { getGrayDecision, getGrayVersion, runWithGray, tryGetGrayVersion } from '@graylane/node';
import { describe, expect, it } from 'vitest';
import { createMessageLanes, queueStats } from '../dist/index.js';
import { withGrayMessage } from '../dist/amqp.js';
import { grayJobData, withGrayJob } from '../dist/bullmq.js';
import { grayKafkaMessage, withGrayKafkaMessage } from '../dist/kafka.js';
import { withGrayNatsMessage } from '../dist/nats.js';
import { binaryCases, openCases, signedCases } from '../test/adversarial.js';
import { CONFIG, KEY, KID, token } from '../test/helpers.js';

const open = createMessageLanes({ config: CONFIG });
const signed = createMessageLanes({ config: CONFIG, trust: 'signed', keys: { [KID]: KEY } });
const reader =
  (headers: unknown) =>
  (name: string): unknown =>
    (headers as Record<string, unknown>)[name];

describe('message lanes: bind (consumer side)', () => {
  it.each([...openCases(), ...binaryCases()])(
    'MQ-06 HDR-04..11 open mode: $name → default + $reason, never throws (I1, I3)',
    ({ value, reason }) => {
      const before = { ...Object.prototype };
      const seen = open.run(reader({ 'x-gray-id': value }), () => getGrayDecision());
      expect(seen?.version).toBe('stable');
      expect(seen?.reason).toBe(reason);
      expect({ ...Object.prototype }).toEqual(before);
    },
  );

  it.each(signedCases())(
    'MQ-06 HDR-13 signed mode: $name → default + $reason',
    ({ value, reason }) => {
      const seen = signed.run(reader({ 'x-gray-id': value }), () => getGrayDecision());
      expect(seen).toMatchObject({ version: 'stable', reason });
    },
  );

  it('HDR-13 signed mode: a valid token binds its version', () => {
    const seen = signed.run(reader({ 'x-gray-id': token('beta') }), () => getGrayVersion());
    expect(seen).toBe('beta');
  });

  it('MQ-06 ignore mode: every marker is untrusted, the default runs', () => {
    const ignore = createMessageLanes({ config: CONFIG, trust: 'ignore' });
    const d = ignore.run(reader({ 'x-gray-id': 'beta', baggage: 'gray=beta' }), getGrayDecision);
    expect(d).toMatchObject({ version: 'stable', reason: 'untrusted_marker' });
    expect(ignore.run(reader({}), getGrayDecision)).toMatchObject({ reason: 'default' });
  });

  it.each([
    ['header only', { 'x-gray-id': 'beta' }, 'beta', 'header'],
    ['baggage only', { baggage: 'a=1,gray=beta;p=1' }, 'beta', 'baggage'],
    ['header beats baggage', { 'x-gray-id': 'stable', baggage: 'gray=beta' }, 'stable', 'header'],
    [
      'invalid header falls to baggage (PREC-02)',
      { 'x-gray-id': 'gamma', baggage: 'gray=beta' },
      'beta',
      'baggage',
    ],
    ['BG-02 ambiguous baggage', { baggage: 'gray=beta,gray=stable' }, 'stable', 'invalid_marker'],
    ['BG-03 CRLF baggage', { baggage: 'gray=beta%0D%0AX-Evil%3A1' }, 'stable', 'invalid_marker'],
    [
      'oversized baggage',
      { baggage: `x=${'a'.repeat(9000)},gray=beta` },
      'stable',
      'invalid_marker',
    ],
    ['absent', {}, 'stable', 'default'],
  ])('MQ-01 precedence: %s', (_name, headers, version, reason) => {
    const d = open.run(reader(headers), getGrayDecision);
    expect(d).toMatchObject({ version, reason });
  });

  it('MQ-06 a throwing reader or a hostile header table means no marker', () => {
    const throwing = (): unknown => {
      throw new Error('boom');
    };
    expect(open.run(throwing, getGrayDecision)).toMatchObject({ version: 'stable' });
    const proxy = new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
      },
    );
    expect(open.run(reader(proxy), getGrayDecision)).toMatchObject({ version: 'stable' });
  });

  it('MQ-07 handler results and errors propagate unchanged', async () => {
    const err = new Error('handler failed');
    expect(() =>
      open.run(reader({ 'x-gray-id': 'beta' }), () => {
        throw err;
      }),
    ).toThrow(err);
    await expect(open.run(reader({}), () => Promise.reject(err))).rejects.toBe(err);
    expect(open.run(reader({}), () => 7)).toBe(7);
  });

  it('I7 concurrent handlers each keep their own lane across awaits', async () => {
    const lanes = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 'beta' : 'stable'));
    const seen = await Promise.all(
      lanes.map((lane, i) =>
        open.run(reader({ 'x-gray-id': lane }), async () => {
          await new Promise((r) => setTimeout(r, i % 7));
          await Promise.resolve();
          return getGrayVersion();
        }),
      ),
    );
    expect(seen).toEqual(lanes);
  });

  it('MQ-09 counts decisions, ignored markers and fallbacks per message', () => {
    const before = queueStats();
    open.run(reader({ 'x-gray-id': 'gamma' }), () => undefined);
    open.run(reader({ 'x-gray-id': 'beta' }), () => undefined, { served: 'stable' });
    const after = queueStats();
    const count = (rows: readonly { count: number }[], match: (r: never) => boolean): number =>
      rows.filter(match as (r: unknown) => boolean).reduce((n, r) => n + r.count, 0);
    const unknown = (s: typeof before): number =>
      count(
        s.invalidMarkers,
        (r: { source: string; reason: string }) => r.source === 'header' && r.reason === 'unknown',
      );
    const fell = (s: typeof before): number =>
      count(
        s.fallbacks,
        (r: { wanted: string; served: string }) => r.wanted === 'beta' && r.served === 'stable',
      );
    expect(unknown(after) - unknown(before)).toBe(1);
    expect(fell(after) - fell(before)).toBe(1);
  });
});

describe('I2 the version a consumer serves is one of the config', () => {
  const noop = (): undefined => undefined;
  const wrappers: readonly [string, (served: string) => unknown][] = [
    ['withGrayJob', (served) => withGrayJob(open, noop, { served })],
    ['withGrayMessage', (served) => withGrayMessage(open, noop, { served })],
    ['withGrayNatsMessage', (served) => withGrayNatsMessage(open, noop, { served })],
    ['withGrayKafkaMessage', (served) => withGrayKafkaMessage(open, noop, { served })],
  ];
  const bad = ['gamma', 'BETA', '', ' stable', '__proto__', 'constructor', 'x'.repeat(300)];

  it.each(wrappers.flatMap(([name, wrap]) => bad.map((served) => [name, served, wrap] as const)))(
    'MQ-09 %s({ served: %j }) throws INVALID_OPTIONS at construction',
    (_name, served, wrap) => {
      expect(() => wrap(served)).toThrow(/not one of the config's versions/);
    },
  );

  it.each(bad)(
    'MQ-09 run(…, { served: %j }) never throws and never adds a fallback label outside the versions',
    (served) => {
      open.run(reader({ 'x-gray-id': 'beta' }), () => undefined, { served });
      const labels = queueStats().fallbacks.flatMap((r) => [r.wanted, r.served]);
      expect(labels.filter((l) => !CONFIG.versions.includes(l as never))).toEqual([]);
    },
  );
});

describe('message lanes: carry (producer side)', () => {
  it('MQ-08 outside a lane nothing is added and the caller object is returned', () => {
    const headers = { a: '1' };
    expect(open.inject(headers)).toBe(headers);
    expect(open.outgoing()).toBeUndefined();
  });

  it('MQ-01 in a lane the marker is added to a copy; the caller table is not mutated', () => {
    const headers = Object.freeze({ 'content-type': 'application/json' });
    const out = runWithGray('beta', () => open.inject(headers));
    expect(out).toEqual({ 'content-type': 'application/json', 'x-gray-id': 'beta' });
    expect(headers).toEqual({ 'content-type': 'application/json' });
  });

  it.each(['x-gray-id', 'X-Gray-Id', 'X-GRAY-ID'])(
    'OUT-03 MQ-08 a caller-set %s is kept, never a second copy',
    (name) => {
      const headers = { [name]: 'stable' };
      expect(runWithGray('beta', () => open.inject(headers))).toBe(headers);
    },
  );

  it('MQ-08 a version the config does not declare is not carried', () => {
    expect(runWithGray('gamma', () => open.inject({}))).toEqual({});
  });

  it('HDR-13 signed producers write a token the signed consumer accepts, and one per version', () => {
    const a = runWithGray('beta', () => signed.outgoing());
    const b = runWithGray('beta', () => signed.outgoing());
    expect(a?.value).toMatch(/^beta\.\d+\.q1\.[A-Za-z0-9_-]{43}$/);
    expect(b?.value).toBe(a?.value);
    const seen = signed.run(reader({ 'x-gray-id': a?.value }), () => getGrayVersion());
    expect(seen).toBe('beta');
  });

  it('round trip: every version carried by the producer is bound by the consumer', () => {
    for (const v of CONFIG.versions) {
      const h = runWithGray(v, () => open.inject({}));
      expect(open.run(reader(h), () => tryGetGrayVersion())).toBe(v);
    }
  });
});

describe('construction errors', () => {
  it.each([
    [{ config: CONFIG, trust: 'signed' as const }, /needs keys/],
    [{ config: CONFIG, trust: 'edge' as never }, /trust must be/],
    [{ config: CONFIG, header: 'bad header' }, /not a header name/],
    [{ config: CONFIG, tokenTtlSeconds: 0 }, /tokenTtlSeconds/],
    [{ config: CONFIG, keys: { [KID]: KEY }, signingKid: 'nope' }, /signingKid/],
    [{ config: { versions: ['stable'], default: 'beta' } }, /INVALID|default/i],
  ])('throws INVALID_OPTIONS / INVALID_CONFIG at construction (%#)', (options, message) => {
    expect(() => createMessageLanes(options)).toThrow(message);
  });
});

describe('OUT-03 a caller’s marker header that holds no value (undefined, null) is replaced', () => {
  // `headers: { 'x-gray-id': req.headers['x-gray-id'] }` for a request that had none.
  const EMPTY: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
  ];
  const SHAPES: [string, (v: unknown) => unknown, (out: unknown) => unknown][] = [
    [
      'a header table (amqplib, kafkajs)',
      (v) => open.inject({ 'x-trace': 't1', 'x-gray-id': v }),
      (out) => out,
    ],
    [
      'the same key spelled in upper case',
      (v) => open.inject({ 'x-trace': 't1', 'X-Gray-Id': v }),
      (out) => out,
    ],
    [
      'a BullMQ job’s data',
      (v) => grayJobData(open, { orderId: 1, __gray: v }),
      (out) => ({ 'x-gray-id': (out as { __gray?: unknown }).__gray }),
    ],
    [
      'a Kafka record with a header object',
      (v) => grayKafkaMessage(open, { value: 'v', headers: { 'x-gray-id': v } }),
      (out) => (out as { headers: unknown }).headers,
    ],
    [
      'a Kafka record with a header list',
      (v) =>
        grayKafkaMessage(open, { value: 'v', headers: [{ 'x-trace': 't1' }, { 'x-gray-id': v }] }),
      (out) =>
        Object.assign({}, ...((out as { headers: Record<string, unknown>[] }).headers ?? [])),
    ],
  ];
  it.each(
    SHAPES.flatMap(([s, make, view]) => EMPTY.map(([e, v]) => [s, e, make, view, v] as const)),
  )('OUT-03 %s, marker %s: the lane is stamped once', (_s, _e, make, view, value) => {
    const out = view(runWithGray('beta', () => make(value))) as Record<string, unknown>;
    const keys = Object.keys(out).filter((k) => k.toLowerCase() === 'x-gray-id');
    expect(keys).toEqual(['x-gray-id']);
    expect(out['x-gray-id']).toBe('beta');
  });

  it.each(SHAPES)('OUT-03 %s: a caller’s own value is kept as it is', (_s, make, view) => {
    const out = view(runWithGray('beta', () => make('stable'))) as Record<string, unknown>;
    const values = Object.entries(out)
      .filter(([k]) => k.toLowerCase() === 'x-gray-id')
      .map(([, v]) => v);
    expect(values).toEqual(['stable']);
  });
});

describe('BG-08 repeated baggage headers on a message are one list', () => {
  it.each([
    ['two strings', ['a=1', 'gray=beta']],
    ['three strings, the member in the middle', ['a=1', 'gray=beta', 'z=2']],
    ['bytes and a string', [Buffer.from('a=1'), 'gray=beta']],
    ['two byte values', [Buffer.from('a=1'), Buffer.from('gray=beta')]],
    ['an empty item', ['', 'gray=beta']],
  ])('BG-08 %s → beta', (_name, list) => {
    expect(open.run(reader({ baggage: list }), () => getGrayVersion())).toBe('beta');
  });

  it.each([
    ['the member twice across headers', ['gray=beta', 'gray=stable'], 'ambiguous'],
    ['a nested list', [['gray=beta'], 'a=1'], 'charset'],
    ['a number among them', [42, 'gray=beta'], 'charset'],
    [
      'over the cap together',
      ['a='.padEnd(6000, 'x'), 'b='.padEnd(6000, 'y'), 'gray=beta'],
      'too_long',
    ],
  ])('BG-08 %s → default', (_name, list, why) => {
    const d = open.run(reader({ baggage: list }), () => getGrayDecision());
    expect(d?.version).toBe('stable');
    expect(JSON.stringify(d)).toContain(why);
  });
});

describe('HDR-13 a signed token leaves the producer with more than half its lifetime', () => {
  // Tokens are reused for half their lifetime; `exp` is whole seconds (floor(now / 1000) + ttl),
  // so "half" must be counted back from exp, not forward from the clock's milliseconds. (With a
  // 1 s lifetime a token signed late in a second has less than half of it from the start.)
  const exp = (t: string): number => Number(t.split('.')[1]);
  it.each([2, 3, 10, 3600])(
    'HDR-13 tokenTtlSeconds %i: every token sent has > ttl / 2 left, and is reused',
    (ttl) => {
      let now = 0;
      const lanes = createMessageLanes({
        config: CONFIG,
        trust: 'signed',
        keys: { [KID]: KEY },
        tokenTtlSeconds: ttl,
        now: () => now,
      });
      const short: string[] = [];
      const tokens = new Set<string>();
      // A start in every part of a second, then sends across two lifetimes in steps of ttl / 20.
      for (const start of [1_000_000_001, 1_000_000_500, 1_000_000_999]) {
        for (let t = start; t < start + 2 * ttl * 1000; t += Math.max(1, (ttl * 1000) / 20) - 1) {
          now = t;
          const token = runWithGray('beta', () => lanes.outgoing()?.value) as string;
          tokens.add(token);
          const left = exp(token) - now / 1000;
          if (!(left > ttl / 2))
            short.push(`start ${start}, sent at ${now}: ${left.toFixed(3)} s left`);
        }
      }
      expect(short).toEqual([]);
      // Still one signature per half lifetime or so, not one per message.
      expect(tokens.size).toBeLessThanOrEqual(3 * 6);
    },
  );
});
