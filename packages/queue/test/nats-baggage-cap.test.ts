// MQ-44 (review 71 N3): a NATS message with several `baggage` headers. The shared header reader
// keeps two values of a name (enough to call a marker header ambiguous), so a `gray` member in a
// third `baggage` header was never judged: not honoured, not counted as an ignored marker, and
// not removed before the handler ran — a handler relaying the headers forwarded it (GW-01). Now a
// NATS message's `baggage` headers are one list, judged as one header of that text would be: within
// 8192 bytes the member is read wherever it sits (up to the W3C caps: 180 members); past 8192 bytes
// together the value is refused unread as `too_long` and counted, as one header that long is on
// every broker (the queue's readers bound the whole value before reading it, I4); either way a
// `gray` member that did not decide is removed (the tail past the caps with it). Over HTTP
// `@graylane/node` scans a baggage header to its caps as OpenTelemetry does: a member past them is
// not seen and not counted (docs/queues.md §7). Real nats-server on 127.0.0.1, core publish and
// subscribe on the v3 and v2 clients, and a JetStream router.
import { getGrayVersion } from '@graylane/node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  connect as v3Connect,
  headers as v3Headers,
  type NatsConnection,
} from '@nats-io/transport-node';
import * as v2 from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes, queueStats } from '../dist/index.js';
import {
  createNatsLanes,
  withGrayNatsMessage,
  type NatsHeadersLike,
  type NatsLaneConsumer,
} from '../dist/nats.js';
import { startNats } from './brokers/nats.js';
import { CONFIG, fresh, until } from './helpers.js';

const lanes = createMessageLanes({ config: CONFIG });

let server: Awaited<ReturnType<typeof startNats>>;
const closing: { close(): Promise<unknown> }[] = [];
beforeAll(async () => void (server = await startNats()), 30_000);
afterAll(async () => {
  for (const c of closing) await c.close().catch(() => undefined);
  await server?.stop();
}, 30_000);

type Hdrs = NatsHeadersLike;
type Client = 'v3' | 'v2';

/** A core connection: publish with headers, subscribe with a `(err, msg)` callback. */
async function open(client: Client) {
  const nc =
    client === 'v3'
      ? await v3Connect({ servers: server.url })
      : await v2.connect({ servers: server.url });
  closing.push(nc);
  return {
    headers: (): Hdrs => (client === 'v3' ? v3Headers() : v2.headers()) as never,
    publish: (s: string, h: Hdrs) => nc.publish(s, '', { headers: h as never }),
    subscribe: (s: string, callback: (err: Error | null, m: { headers?: Hdrs }) => void) =>
      nc.subscribe(s, { callback: callback as never }),
    flush: () => nc.flush(),
  };
}

const tooLong = (): number =>
  queueStats().invalidMarkers.find((r) => r.source === 'baggage' && r.reason === 'too_long')
    ?.count ?? 0;
const invalid = (): number => queueStats().invalidMarkers.reduce((n, r) => n + r.count, 0);
/** The `gray` members a handler relaying the message's baggage headers would forward. */
const grayMembers = (h: Hdrs | undefined): string[] =>
  (h?.keys() ?? [])
    .filter((k) => k.toLowerCase() === 'baggage')
    .flatMap((k) => h?.values(k) ?? [])
    .flatMap((v) => v.split(','))
    .map((m) => m.trim())
    .filter((m) => /^gray\s*=/.test(m));

const small = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => `${prefix}${i}=v`);
const big = (n: number) => Array.from({ length: n }, (_, i) => `p${i}=${'x'.repeat(4_000)}`);

interface Row {
  readonly what: string;
  /** The `baggage` header values, in order (`Baggage` marks another spelling). */
  readonly values: readonly string[];
  readonly version: 'stable' | 'beta';
  /** What is counted: a `too_long` refusal, another ignored marker, or nothing. */
  readonly counted: 'too_long' | 'other' | 'none';
  /** The `gray` members the handler's headers still carry. */
  readonly relayed: readonly string[];
}

const rows: readonly Row[] = [
  {
    what: 'gray in the third of three headers',
    values: ['a=1', 'b=2', 'gray=beta'],
    version: 'beta',
    counted: 'none',
    relayed: ['gray=beta'],
  },
  {
    what: 'gray in the 40th of 40 headers',
    values: [...small(39), 'gray=beta'],
    version: 'beta',
    counted: 'none',
    relayed: ['gray=beta'],
  },
  {
    what: 'gray twice, first and third header, two versions',
    values: ['gray=beta', 'a=1', 'gray=stable'],
    version: 'stable',
    counted: 'other',
    relayed: [],
  },
  {
    what: 'an unknown version in the third header',
    values: ['a=1', 'b=2', 'gray=canary'],
    version: 'stable',
    counted: 'other',
    relayed: [],
  },
  {
    what: '3,000 headers, gray after the 8 KiB cap',
    values: [...small(3_000), 'gray=beta'],
    version: 'stable',
    counted: 'too_long',
    relayed: [],
  },
  {
    what: '3 headers of 4 KB, gray in a fourth',
    values: [...big(3), 'gray=beta'],
    version: 'stable',
    counted: 'too_long',
    relayed: [],
  },
  {
    what: 'gray first, 3,000 headers after it past the cap',
    values: ['gray=beta', ...small(3_000)],
    version: 'stable',
    counted: 'too_long',
    relayed: [],
  },
  {
    what: '200 members within 8 KiB, gray the 201st (W3C: 180 members)',
    values: [...small(200), 'gray=beta'],
    version: 'stable',
    counted: 'none',
    relayed: [],
  },
  // Controls: what the old reader judged alike.
  {
    what: 'control: gray in a third header under another spelling',
    values: ['a=1', 'Baggage:b=2', 'Baggage:gray=beta'],
    version: 'beta',
    counted: 'none',
    relayed: ['gray=beta'],
  },
  {
    what: 'control: gray in the second of two headers',
    values: ['a=1', 'gray=beta'],
    version: 'beta',
    counted: 'none',
    relayed: ['gray=beta'],
  },
  {
    what: 'control: one header, gray after 3,000 members past the cap',
    values: [[...small(3_000), 'gray=beta'].join(',')],
    version: 'stable',
    counted: 'too_long',
    relayed: [],
  },
  {
    what: 'two headers of 6 KB, gray in a third',
    values: ['a='.padEnd(6_000, 'x'), 'b='.padEnd(6_000, 'y'), 'gray=beta'],
    version: 'stable',
    counted: 'too_long',
    relayed: [],
  },
];

describe('MQ-44 NATS: several baggage headers are one list, judged and scrubbed as one header', () => {
  const table = rows.flatMap((row) =>
    (['v3', 'v2'] as const).map((client) => ({ ...row, client })),
  );
  it.each(table)('MQ-44 $client · $what → $version, counted $counted', async (row) => {
    const c = await open(row.client);
    const subject = fresh('bag.').toLowerCase();
    const seen: { version: string; relayed: string[] }[] = [];
    c.subscribe(
      subject,
      withGrayNatsMessage(lanes, (err: Error | null, m: { headers?: Hdrs }) => {
        if (err) return;
        seen.push({ version: getGrayVersion(), relayed: grayMembers(m.headers) });
      }),
    );
    await c.flush();
    const h = c.headers();
    for (const v of row.values) {
      const [name, value] = v.startsWith('Baggage:') ? ['Baggage', v.slice(8)] : ['baggage', v];
      h.append(name, value);
    }
    const [long, all] = [tooLong(), invalid()];
    c.publish(subject, h);
    await until(() => seen.length === 1, 5_000);
    expect(seen[0]).toEqual({ version: row.version, relayed: row.relayed });
    expect(tooLong() - long).toBe(row.counted === 'too_long' ? 1 : 0);
    expect(invalid() - all).toBe(row.counted === 'none' ? 0 : 1);
  });
});

describe('MQ-44 NATS JetStream: a router routes on the baggage headers as its consumer reads them', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await v3Connect({ servers: server.url });
    closing.push(nc);
  });
  it.each([
    { what: 'gray in the third header', values: ['a=1', 'b=2', 'gray=beta'], lane: 'beta' },
    {
      what: 'control: 3,000 headers, gray after the cap',
      values: [...small(3_000), 'gray=beta'],
      lane: 'stable',
    },
  ] as const)('MQ-44 $what: routed to and run by $lane', async ({ values, lane }) => {
    const stream = fresh('BAG');
    const router = createNatsLanes({
      lanes,
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      stream,
      subject: stream.toLowerCase(),
      liveness: { intervalMs: 100, graceMs: 300 },
      drainIntervalMs: 100,
    });
    await router.setup();
    const ran: string[] = [];
    const started: NatsLaneConsumer[] = [];
    for (const l of ['stable', 'beta'] as const) {
      started.push(
        await router.consume(l, (m) => {
          ran.push(`${l}/${getGrayVersion()}`);
          m.ack();
        }),
      );
    }
    try {
      await until(() => router.liveness.refresh('beta'));
      const h = v3Headers();
      for (const v of values) h.append('baggage', v);
      // Outside any lane: the router adds no marker, and routes on what the headers carry.
      await router.publish('m', { headers: h });
      await until(() => ran.length === 1, 5_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(ran).toEqual([`${lane}/${lane}`]);
    } finally {
      for (const c of started) await c.close();
    }
  });
});
