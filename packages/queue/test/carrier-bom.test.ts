// MQ-37 (review 60 N1): a marker delivered as bytes with a leading UTF-8 BOM was decoded with the
// BOM stripped (TextDecoder's default), so `Buffer.from('\ufeffbeta')` ran in beta while the string
// '\ufeffbeta' ran in the default version. Bytes and the text they encode are judged alike now, on
// every carrier that delivers header values as bytes (kafkajs objects, the Confluent list of
// one-key entries, amqplib header tables), for the marker header and the `baggage` header.
import { getGrayVersion } from '@graylane/node';
import { describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { withGrayMessage } from '../dist/amqp.js';
import { runInKafkaMessage } from '../dist/kafka.js';
import { CONFIG } from './helpers.js';

const lanes = createMessageLanes({ config: CONFIG });
const BOM = '\ufeff';

type Carrier = (name: string, value: unknown) => string;
const CARRIERS: Record<string, Carrier> = {
  'kafkajs headers object': (name, value) =>
    runInKafkaMessage(lanes, { headers: { [name]: value } } as never, () => getGrayVersion()),
  'Confluent header list': (name, value) =>
    runInKafkaMessage(lanes, { headers: [{ [name]: value }] } as never, () => getGrayVersion()),
  'amqplib header table': (name, value) => {
    let seen = '';
    withGrayMessage(
      lanes,
      () => void (seen = getGrayVersion()),
    )({
      content: Buffer.alloc(0),
      fields: {},
      properties: { headers: { [name]: value } },
    } as never);
    return seen;
  },
};

/** Read differently before: the decoder dropped the leading BOM of the bytes only. */
const VALUES = [
  { header: 'x-gray-id', text: `${BOM}beta` },
  { header: 'x-gray-id', text: `${BOM} beta` },
  { header: 'x-gray-id', text: `${BOM}\tbeta` },
  { header: 'x-gray-id', text: `${BOM}beta ` },
] as const;
/** Agreed before too: a second BOM kept, baggage trimming it (as String#trim does). */
const CONTROLS = [
  { header: 'x-gray-id', text: `${BOM}${BOM}beta` },
  { header: 'baggage', text: `${BOM}gray=beta` },
  { header: 'baggage', text: `${BOM}gray=beta,other=1` },
] as const;

const table = (values: readonly { header: string; text: string }[]) =>
  Object.keys(CARRIERS).flatMap((carrier) =>
    values.map((v) => ({ carrier, ...v, shown: JSON.stringify(v.text) })),
  );

describe('MQ-37 a leading BOM: bytes and the string they encode bind the same version', () => {
  const agree = ({ carrier, header, text }: { carrier: string; header: string; text: string }) => {
    const run = CARRIERS[carrier] as Carrier;
    const asText = run(header, text);
    const asBuffer = run(header, Buffer.from(text, 'utf8'));
    const asBytes = run(header, new Uint8Array(Buffer.from(text, 'utf8')));
    const asList = run(header, [Buffer.from(text, 'utf8')]);
    expect({ asBuffer, asBytes, asList }).toEqual({
      asBuffer: asText,
      asBytes: asText,
      asList: asText,
    });
    // A BOM is not part of a marker value (the default version); baggage trims it as JavaScript's
    // String#trim does, bytes and text alike.
    expect(asText).toBe(header === 'baggage' ? 'beta' : 'stable');
  };
  it.each(table(VALUES))('MQ-37 $carrier, $header $shown', agree);
  it.each(table(CONTROLS))('MQ-37 control: $carrier, $header $shown', agree);

  it.each(Object.keys(CARRIERS))(
    'MQ-37 control: %s, beta without a BOM binds beta either way',
    (carrier) => {
      const run = CARRIERS[carrier] as Carrier;
      expect([run('x-gray-id', 'beta'), run('x-gray-id', Buffer.from('beta'))]).toEqual([
        'beta',
        'beta',
      ]);
    },
  );
});
