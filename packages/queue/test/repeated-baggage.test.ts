// MQ-44 for Kafka and AMQP header tables: a `baggage` header repeated as a list of values (kafkajs
// `IHeaders` `{ baggage: [Buffer, Buffer, Buffer] }`, an AMQP field array, the Confluent client's
// list of one-key entries) is one W3C list. The shared reader kept two values of any list, so a
// `gray` member in the third value was neither judged nor removed, and a scrub that wrote the
// header back dropped every value past the second with all its members (data lost). Now every
// value is read: the member decides wherever it sits, a refused one is removed wherever it sits,
// and every other member stays. No Kafka broker here: the records are the shapes the clients
// hand over (as in kafka.test.ts); AMQP without a broker through `withGrayMessage`.
import { getGrayVersion } from '@graylane/node';
import { describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { withGrayMessage } from '../dist/amqp.js';
import { runInKafkaMessage } from '../dist/kafka.js';
import { CONFIG } from './helpers.js';

const lanes = {
  open: createMessageLanes({ config: CONFIG }),
  ignore: createMessageLanes({ config: CONFIG, trust: 'ignore' }),
} as const;

/** `count` baggage values, the member `gray=<lane>` in value `at` (or nowhere), others kept. */
function values(count: number, at: number, lane: string): string[] {
  return Array.from({ length: count }, (_, i) =>
    i === at ? `k${i}=v${i},gray=${lane}` : `k${i}=v${i}`,
  );
}

/** The members left, in order, whatever shape the table now holds them in. */
function members(left: unknown): string[] {
  const text = (v: unknown): string =>
    Buffer.isBuffer(v) ? v.toString('utf8') : Array.isArray(v) ? v.map(text).join(',') : String(v);
  return left === undefined ? [] : text(left).split(',').filter(Boolean);
}

type Shape = 'kafkajs Buffers' | 'kafkajs strings' | 'Confluent list' | 'AMQP field array';
const SHAPES: readonly Shape[] = [
  'kafkajs Buffers',
  'kafkajs strings',
  'Confluent list',
  'AMQP field array',
];

/** Runs one consumed message of `shape` and returns the lane and the baggage it still has. */
function consume(shape: Shape, trust: keyof typeof lanes, vals: string[]) {
  let version: string | undefined;
  const run = () => (version = getGrayVersion());
  if (shape === 'AMQP field array') {
    const headers: Record<string, unknown> = { baggage: [...vals] };
    const msg = { content: Buffer.from('x'), fields: {}, properties: { headers } };
    withGrayMessage(lanes[trust], run)(msg as never);
    return { version, left: headers['baggage'] };
  }
  if (shape === 'Confluent list') {
    const headers = vals.map((v) => ({ baggage: Buffer.from(v) }));
    runInKafkaMessage(lanes[trust], { headers } as never, run);
    return { version, left: headers.map((h) => h.baggage).filter((v) => v !== undefined) };
  }
  const headers: Record<string, unknown> = {
    baggage: shape === 'kafkajs Buffers' ? vals.map((v) => Buffer.from(v)) : [...vals],
  };
  runInKafkaMessage(lanes[trust], { headers } as never, run);
  return { version, left: headers['baggage'] };
}

const ROWS = SHAPES.flatMap((shape) =>
  [2, 3, 4, 6].flatMap((count) => Array.from({ length: count }, (_, at) => ({ shape, count, at }))),
);

describe('MQ-44 Kafka / AMQP: a repeated baggage header is one list, judged and scrubbed whole', () => {
  it.each(ROWS)('$shape, $count values, gray in value $at: decides', ({ shape, count, at }) => {
    const vals = values(count, at, 'beta');
    const { version, left } = consume(shape, 'open', vals);
    expect(version).toBe('beta');
    // Honoured: the baggage stays as it came, every member.
    expect(members(left)).toEqual(vals.join(',').split(','));
  });

  it.each(ROWS)(
    '$shape, $count values, gray in value $at: refused, removed, others kept',
    ({ shape, count, at }) => {
      const vals = values(count, at, 'beta');
      const { version, left } = consume(shape, 'ignore', vals);
      expect(version).toBe('stable');
      const others = vals
        .join(',')
        .split(',')
        .filter((m) => !m.startsWith('gray='));
      expect(members(left)).toEqual(others);
    },
  );

  it.each(SHAPES)('%s: an unknown lane in a later value is refused and removed', (shape) => {
    const vals = values(5, 4, 'gamma');
    const { version, left } = consume(shape, 'open', vals);
    expect(version).toBe('stable');
    expect(members(left)).not.toContain('gray=gamma');
    expect(members(left)).toHaveLength(5);
  });

  it.each(SHAPES)('%s: two gray members in different values are ambiguous', (shape) => {
    const vals = ['a=1', 'gray=beta', 'b=2', 'gray=stable'];
    const { version, left } = consume(shape, 'open', vals);
    expect(version).toBe('stable');
    expect(members(left)).toEqual(['a=1', 'b=2']);
  });

  it.each(SHAPES)('%s (control): no gray member anywhere, nothing changes', (shape) => {
    const vals = values(4, -1, 'beta');
    const { version, left } = consume(shape, 'ignore', vals);
    expect(version).toBe('stable');
    expect(members(left)).toEqual(vals);
  });
});
