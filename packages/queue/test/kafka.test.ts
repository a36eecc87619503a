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
