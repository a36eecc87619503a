// OTB-05: with OpenTelemetry active, the lane rides OTel baggage inside consumers too, and
// producers write the `gray` baggage member beside the marker header (exactly once).
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { runWithGray } from '@graylane/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { grayPublishOptions } from '../dist/amqp.js';
import { grayKafkaMessage } from '../dist/kafka.js';
import { CONFIG } from './helpers.js';
import { recordMetrics } from './metrics.js';

const lanes = createMessageLanes({ config: CONFIG });
const manager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  context.disable();
});

function baggageInside(headers: Record<string, unknown>): string | undefined {
  return lanes.run(
    (name) => headers[name],
    () => propagation.getBaggage(context.active())?.getEntry('gray')?.value,
  );
}

describe('OTel baggage as a carrier for messages', () => {
  it('OTB-05 a consumer handler runs with gray=<version> in OTel baggage', async () => {
    expect(baggageInside({ 'x-gray-id': 'beta' })).toBe('beta');
    expect(baggageInside({})).toBe('stable');
    const later = await lanes.run(
      () => 'beta',
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        return propagation.getBaggage(context.active())?.getEntry('gray')?.value;
      },
    );
    expect(later).toBe('beta');
  });

  it('OTB-05 other baggage entries of the surrounding context are kept', () => {
    const outer = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ tenant: { value: 't1' } }),
    );
    const entries = context.with(outer, () =>
      lanes.run(
        () => 'beta',
        () =>
          propagation
            .getBaggage(context.active())
            ?.getAllEntries()
            .map(([k, v]) => `${k}=${v.value}`),
      ),
    );
    expect(entries?.sort()).toEqual(['gray=beta', 'tenant=t1']);
  });

  it('OUT-01 producers write the gray baggage member once, merged into a caller baggage header', () => {
    const opts = runWithGray('beta', () =>
      grayPublishOptions(lanes, { headers: { baggage: 'a=1,gray=stable' } }),
    );
    expect(opts.headers).toEqual({ baggage: 'gray=beta,a=1', 'x-gray-id': 'beta' });
    const record = runWithGray('beta', () => grayKafkaMessage(lanes, { value: 'x' }));
    expect(record.headers).toEqual({ 'x-gray-id': 'beta', baggage: 'gray=beta' });
  });

  // A forwarded record keeps the headers it was consumed with: Kafka and AMQP hand them over as
  // bytes, kafkajs as a list when the header repeats. The other members must survive (OUT-01).
  const enc = new TextEncoder();
  it.each([
    ['a string', 'a=1,gray=stable'],
    ['a Buffer (kafkajs, AMQP byte array)', Buffer.from('a=1,gray=stable')],
    ['a Uint8Array', enc.encode('a=1,gray=stable')],
    ['a list of strings (the header twice)', ['a=1', 'gray=stable']],
    ['a list of Buffers', [Buffer.from('a=1'), Buffer.from('gray=stable')]],
    ['a one-element list', [Buffer.from('a=1,gray=stable')]],
  ])(
    'OUT-01 forwarding a record whose baggage is %s keeps the other members, gray once',
    (_n, v) => {
      const members = (text: unknown): string[] => String(text).split(',').sort();
      const want = ['a=1', 'gray=beta'];
      const kafka = runWithGray('beta', () =>
        grayKafkaMessage(lanes, { value: 'x', headers: { baggage: v as never } }),
      );
      expect(members(kafka.headers?.['baggage'])).toEqual(want);
      const list = runWithGray('beta', () =>
        grayKafkaMessage(lanes, { value: 'x', headers: [{ baggage: v as never }] }),
      );
      const entry = (list.headers as unknown as Record<string, unknown>[]).find(
        (e) => 'baggage' in e,
      );
      expect(members(entry?.['baggage'])).toEqual(want);
      const amqp = runWithGray('beta', () =>
        grayPublishOptions(lanes, { headers: { baggage: v } }),
      );
      expect(members(amqp.headers?.['baggage'])).toEqual(want);
    },
  );

  it.each([
    ['invalid UTF-8 bytes', Buffer.from([0x61, 0x3d, 0xff, 0xfe])],
    ['64 KiB of bytes', Buffer.alloc(70_000, 0x61)],
    ['a number', 42],
    ['an object', { a: '1' }],
  ])('OUT-08 a baggage header that is %s is replaced by gray alone, never thrown on', (_n, v) => {
    const kafka = runWithGray('beta', () =>
      grayKafkaMessage(lanes, { value: 'x', headers: { baggage: v as never } }),
    );
    expect(kafka.headers?.['baggage']).toBe('gray=beta');
    expect(kafka.headers?.['x-gray-id']).toBe('beta');
  });

  it('baggageKey: false writes and reads no baggage', () => {
    const plain = createMessageLanes({ config: CONFIG, baggageKey: false });
    const record = runWithGray('beta', () => grayKafkaMessage(plain, { value: 'x' }));
    expect(record.headers).toEqual({ 'x-gray-id': 'beta' });
    const seen = plain.run(
      (n) => ({ baggage: 'gray=beta' })[n],
      () => propagation.getBaggage(context.active())?.getEntry('gray'),
    );
    expect(seen).toBeUndefined();
  });
});

describe('metrics: a MeterProvider registered after the first message (issue 20)', () => {
  it('receives every message counted after it was registered', async () => {
    const lanes = createMessageLanes({ config: CONFIG });
    const read = (name: string): string | undefined => (name === 'x-gray-id' ? 'beta' : undefined);
    lanes.run(read, () => undefined); // before any provider: nowhere to count
    const recorded = recordMetrics();
    try {
      for (let i = 0; i < 5; i++) lanes.run(read, () => undefined);
      expect(await recorded.sum('graylane.decisions')).toBe(5);
    } finally {
      await recorded.stop();
    }
  });
});
