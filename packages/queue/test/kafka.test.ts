// Kafka: header-carrier tests only — no Kafka broker is available on this machine (docs/queues.md
// says so). The records below are the exact shapes kafkajs and the Confluent client hand over.
import { getGrayDecision, getGrayVersion, runWithGray } from '@graylane/node';
import type { EachMessagePayload, KafkaMessage, Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import {
  grayKafkaMessage,
  grayKafkaMessages,
  runInKafkaMessage,
  withGrayKafkaMessage,
} from '../dist/kafka.js';
import { binaryCases, openCases, signedCases, tableCases } from './adversarial.js';
import { CONFIG, KEY, KID } from './helpers.js';
import { carried, lanesByTrust, onwardProblems, relayRows } from './relay.js';

const lanes = createMessageLanes({ config: CONFIG });

/** What a kafkajs consumer receives for a produced record: header values arrive as Buffers. */
function consumed(produced: Message): KafkaMessage {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const [k, v] of Object.entries(produced.headers ?? {})) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.map((x) => Buffer.from(x)) : Buffer.from(v);
  }
  return {
    key: null,
    value: Buffer.from(String(produced.value)),
    timestamp: '0',
    attributes: 0,
    offset: '0',
    headers,
  } as KafkaMessage;
}

describe('Kafka record headers (kafkajs and Confluent shapes)', () => {
  it('MQ-01 kafkajs: produced in beta → consumed (Buffer headers) in beta', async () => {
    const record = runWithGray('beta', () => grayKafkaMessage(lanes, { value: 'order-1' }));
    expect(record.headers).toEqual({ 'x-gray-id': 'beta' });
    const eachMessage = withGrayKafkaMessage(
      lanes,
      async ({ message }: Pick<EachMessagePayload, 'message'>) => ({
        value: message.value?.toString(),
        version: getGrayVersion(),
      }),
    );
    await expect(eachMessage({ message: consumed(record) })).resolves.toEqual({
      value: 'order-1',
      version: 'beta',
    });
  });

  it('MQ-01 a batch gets one marker per record; records without a lane stay untouched', () => {
    const batch = [{ value: 'a' }, { value: 'b', headers: { trace: 'x' } }];
    const out = runWithGray('beta', () => grayKafkaMessages(lanes, batch));
    expect(out.map((m) => m.headers)).toEqual([
      { 'x-gray-id': 'beta' },
      { trace: 'x', 'x-gray-id': 'beta' },
    ]);
    expect(batch[1]?.headers).toEqual({ trace: 'x' });
    expect(grayKafkaMessage(lanes, batch[0] as Message)).toBe(batch[0]);
  });

  it('MQ-01 Confluent native list headers: an entry is appended, the caller list is not mutated', () => {
    const headers = Object.freeze([{ trace: 'x' }]);
    const out = runWithGray('beta', () => grayKafkaMessage(lanes, { value: 'a', headers }));
    expect(out.headers).toEqual([{ trace: 'x' }, { 'x-gray-id': 'beta' }]);
    expect(headers).toEqual([{ trace: 'x' }]);
    const seen = runInKafkaMessage(
      lanes,
      { headers: [{ 'x-gray-id': Buffer.from('beta') }] },
      getGrayVersion,
    );
    expect(seen).toBe('beta');
  });

  it.each([
    ['kafkajs object', { 'X-Gray-Id': 'stable' }],
    ['Confluent list', [{ 'X-GRAY-ID': 'stable' }]],
  ])('OUT-03 MQ-08 a caller-set marker is kept (%s), never a second copy', (_n, headers) => {
    const message = { value: 'a', headers };
    expect(runWithGray('beta', () => grayKafkaMessage(lanes, message))).toBe(message);
  });

  it.each([...openCases(), ...binaryCases()])(
    'MQ-06 consumed header $name → default + $reason (values as the clients deliver them)',
    ({ value, reason }) => {
      const asBuffer = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      for (const v of [value, asBuffer]) {
        const d = runInKafkaMessage(
          lanes,
          { headers: { 'x-gray-id': v } as never },
          getGrayDecision,
        );
        expect(d).toMatchObject({ version: 'stable', reason });
      }
    },
  );

  it.each(tableCases())('MQ-06 header table $name → $reason', ({ table, reason }) => {
    const d = runInKafkaMessage(lanes, { headers: table as never }, getGrayDecision);
    expect(d?.reason).toBe(reason);
  });

  it.each(signedCases())(
    'HDR-13 signed consumers: $name → default + $reason',
    ({ value, reason }) => {
      const signed = createMessageLanes({ config: CONFIG, trust: 'signed', keys: { [KID]: KEY } });
      const d = runInKafkaMessage(
        signed,
        { headers: { 'x-gray-id': value as string } },
        getGrayDecision,
      );
      expect(d).toMatchObject({ version: 'stable', reason });
    },
  );

  it('HDR-13 signed producers and consumers agree through Buffer headers', () => {
    const signed = createMessageLanes({ config: CONFIG, trust: 'signed', keys: { [KID]: KEY } });
    const record = runWithGray('beta', () => grayKafkaMessage(signed, { value: 'x' }));
    expect(runInKafkaMessage(signed, consumed(record), getGrayVersion)).toBe('beta');
  });
});

/** Record headers as one record of every value per name (the Confluent list flattened). */
function asRecord(headers: unknown): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const entries = Array.isArray(headers)
    ? headers.flatMap((e: Record<string, unknown>) => Object.entries(e))
    : Object.entries((headers ?? {}) as Record<string, unknown>);
  for (const [k, v] of entries) (out[k] ??= []).push(...(Array.isArray(v) ? v : [v]));
  return out;
}

describe('GW-01 Kafka: a handler forwarding the record it received carries the version decided here', () => {
  // Records as the clients deliver them: kafkajs IHeaders with Buffer values, the Confluent
  // native list of { name: Buffer } entries; bound by withGrayKafkaMessage or runInKafkaMessage;
  // forwarded with grayKafkaMessage(lanes, { value, headers: message.headers }).
  const FORMS = {
    'kafkajs IHeaders': (h: Record<string, string | Buffer>) =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)])),
    'Confluent list': (h: Record<string, string | Buffer>) =>
      Object.entries(h).map(([k, v]) => ({ [k]: Buffer.from(v) })),
  } as const;
  const rows = relayRows(true).flatMap((row) =>
    (Object.keys(FORMS) as (keyof typeof FORMS)[]).flatMap((form) =>
      (['withGrayKafkaMessage', 'runInKafkaMessage'] as const).map((entry) => ({
        ...row,
        form,
        entry,
      })),
    ),
  );

  it.each(rows)(
    'GW-01 kafka $trust · $shape.name · $form · $entry',
    async ({ trust, shape, form, entry, want }) => {
      const lanes = lanesByTrust()[trust];
      const message = { value: Buffer.from('x'), headers: FORMS[form](shape.headers) };
      const handle = () => ({
        version: getGrayVersion(),
        carried: carried(asRecord(message.headers)),
        onward: grayKafkaMessage(lanes, { value: message.value, headers: message.headers }),
      });
      const r =
        entry === 'runInKafkaMessage'
          ? runInKafkaMessage(lanes, message as never, handle)
          : await withGrayKafkaMessage(lanes, async () => handle())({ message } as never);
      expect({ version: r.version, ...r.carried }).toEqual({
        version: want.version,
        header: want.header,
        baggage: want.baggage,
      });
      expect(onwardProblems(asRecord(r.onward.headers), want.version)).toEqual([]);
    },
  );

  it.each([
    [
      'baggageKey: false — the member goes under the default key, the header that decided stays',
      createMessageLanes({ config: CONFIG, baggageKey: false }),
      { 'x-gray-id': 'beta', baggage: 'a=1,gray=beta' },
      { version: 'beta', header: 'beta', baggage: 'a=1' },
    ],
    [
      'open: baggage bytes that are not UTF-8 go whole, the header that decided stays',
      createMessageLanes({ config: CONFIG }),
      { 'x-gray-id': 'beta', baggage: Buffer.from([0x67, 0x72, 0x61, 0x79, 0x3d, 0xff]) },
      { version: 'beta', header: 'beta', baggage: undefined },
    ],
    [
      'signed: baggage bytes that are not UTF-8 go whole, so does the bare label',
      lanesByTrust().signed,
      { 'x-gray-id': 'beta', baggage: Buffer.from([0x67, 0x72, 0x61, 0x79, 0x3d, 0xff]) },
      { version: 'stable', header: undefined, baggage: undefined },
    ],
    [
      'open: a baggage member agreeing with the header stays (this one) while a disagreeing one goes (the next)',
      createMessageLanes({ config: CONFIG }),
      [
        { 'x-gray-id': 'beta', baggage: 'gray=beta,a=1' },
        { 'x-gray-id': 'beta', baggage: 'gray=stable,a=1' },
      ],
      [
        { version: 'beta', header: 'beta', baggage: 'gray=beta,a=1' },
        { version: 'beta', header: 'beta', baggage: 'a=1' },
      ],
    ],
  ] as const)('GW-01 kafka %s', (_name, lanes, headers, want) => {
    const all = (Array.isArray(headers) ? headers : [headers]) as Record<string, string | Buffer>[];
    const wants = (Array.isArray(want) ? want : [want]) as Record<string, unknown>[];
    const seen = all.map((h) => {
      const message = {
        headers: Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)])),
      };
      return runInKafkaMessage(lanes, message, () => ({
        version: getGrayVersion(),
        ...carried(asRecord(message.headers)),
      }));
    });
    expect(seen).toEqual(wants);
  });
});
