// MQ-25 (review 139 D3): `withGrayNatsMessage` on core NATS — request/reply, queue groups and
// plain subscriptions, in the `(err, msg)` callback form and the iterator form, on the v3
// (`@nats-io/transport-node`) and the v2 (`nats`) clients, against a real nats-server.
import { headers as v3Headers, connect as v3Connect } from '@nats-io/transport-node';
import { getGrayVersion, runWithGray, tryGetGrayVersion } from '@graylane/node';
import * as v2 from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { grayNatsHeaders, withGrayNatsMessage } from '../dist/nats.js';
import { HEADER, openCases } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { CONFIG, fresh } from './helpers.js';

const lanes = createMessageLanes({ config: CONFIG });

/** What both clients give a test: request, publish, subscribe, headers, and liveness. */
interface CoreClient {
  request(subject: string, headers?: HeadersLike): Promise<string>;
  publish(subject: string, headers?: HeadersLike): void;
  subscribe(subject: string, opts: Record<string, unknown>): AsyncIterable<CoreMsg>;
  headers(): HeadersLike;
  /** A reply payload as the client takes it (v2 takes bytes only). */
  payload(text: string): unknown;
  flush(): Promise<void>;
  isClosed(): boolean;
  close(): Promise<void>;
}
interface HeadersLike {
  set(k: string, v: string): void;
  append(k: string, v: string): void;
  keys(): string[];
  values(k: string): string[];
  delete(k: string): void;
  [Symbol.iterator](): Iterator<[string, string[]]>;
}
interface CoreMsg {
  headers?: HeadersLike | undefined;
  respond(data?: unknown): boolean;
}

let server: Awaited<ReturnType<typeof startNats>>;
beforeAll(async () => void (server = await startNats()), 30_000);
afterAll(async () => server?.stop(), 30_000);

/** A connection of its own per row: a row that breaks one never fails the next. */
async function open(client: 'v3' | 'v2'): Promise<CoreClient> {
  if (client === 'v3') {
    const nc = await v3Connect({ servers: server.url });
    return {
      request: async (s, h) =>
        (
          await nc.request(s, '', { timeout: 2000, ...(h ? { headers: h as never } : {}) })
        ).string(),
      publish: (s, h) => nc.publish(s, '', h ? { headers: h as never } : {}),
      subscribe: (s, o) => nc.subscribe(s, o) as never,
      headers: () => v3Headers() as never,
      payload: (text) => text,
      flush: () => nc.flush(),
      isClosed: () => nc.isClosed(),
      close: () => nc.close(),
    };
  }
  const nc = await v2.connect({ servers: server.url });
  const codec = v2.StringCodec();
  return {
    request: async (s, h) => {
      const opts = { timeout: 2000, ...(h ? { headers: h as never } : {}) };
      return codec.decode((await nc.request(s, codec.encode(''), opts)).data);
    },
    publish: (s, h) => nc.publish(s, codec.encode(''), h ? { headers: h as never } : {}),
    subscribe: (s, o) => nc.subscribe(s, o) as never,
    headers: () => v2.headers() as never,
    payload: (text) => codec.encode(text),
    flush: () => nc.flush(),
    isClosed: () => nc.isClosed(),
    close: () => nc.close(),
  };
}

/** Runs `fn` with a fresh connection of `client`, closed afterwards. */
async function withClient(
  client: 'v3' | 'v2',
  fn: (c: CoreClient) => Promise<void>,
): Promise<void> {
  const c = await open(client);
  try {
    await fn(c);
  } finally {
    if (!c.isClosed()) await c.close();
  }
}

/** A request's headers for one row, built with the client's own header factory. */
interface MarkerRow {
  readonly name: string;
  readonly make: (c: CoreClient) => HeadersLike | undefined;
  /** The version the responder must run in. */
  readonly want: string;
}
const MARKERS: readonly MarkerRow[] = [
  { name: 'no headers', make: () => undefined, want: 'stable' },
  {
    name: 'grayNatsHeaders in lane beta',
    make: (c) => runWithGray('beta', () => grayNatsHeaders(lanes, undefined, c.headers)),
    want: 'beta',
  },
  {
    name: 'X-Gray-Id: beta after 2,000 other headers',
    make: (c) => {
      const h = c.headers();
      for (let i = 0; i < 2000; i++) h.set(`h${i}`, 'v');
      h.set('X-Gray-Id', 'beta');
      return h;
    },
    want: 'beta',
  },
  {
    name: 'baggage gray=beta',
    make: (c) => {
      const h = c.headers();
      h.set('baggage', 'a=1,gray=beta');
      return h;
    },
    want: 'beta',
  },
  {
    name: 'x-gray-id appended twice',
    make: (c) => {
      const h = c.headers();
      h.append(HEADER, 'beta');
      h.append(HEADER, 'beta');
      return h;
    },
    want: 'stable',
  },
  ...openCases()
    .filter((row) => typeof row.value === 'string')
    .map((row) => ({
      name: `adversarial: ${row.name}`,
      make: (c: CoreClient) => {
        const h = c.headers();
        h.set(HEADER, row.value as string);
        return h;
      },
      want: 'stable',
    })),
];

/** A row's headers, or `unsendable` when the client itself refuses the value (CR, LF, …). */
function headersFor(row: MarkerRow, c: CoreClient): HeadersLike | undefined | 'unsendable' {
  try {
    return row.make(c);
  } catch {
    return 'unsendable';
  }
}

type Form = 'callback (err, msg)' | 'iterator' | 'callback, two queue-group members';
const FORMS: readonly Form[] = [
  'callback (err, msg)',
  'iterator',
  'callback, two queue-group members',
];

/** Starts responders on `subject` in `form`; each replies `<version>|<marker header left>`. */
function respond(c: CoreClient, subject: string, form: Form): void {
  const reply = (m: CoreMsg): void => {
    const left = m.headers?.keys().some((k) => k.toLowerCase() === HEADER) ?? false;
    m.respond(c.payload(`${getGrayVersion()}|${String(left)}`));
  };
  if (form === 'iterator') {
    const sub = c.subscribe(subject, { queue: 'workers' });
    const handle = withGrayNatsMessage(lanes, reply);
    void (async () => {
      for await (const m of sub) handle(m);
    })();
    return;
  }
  const members = form === 'callback (err, msg)' ? 1 : 2;
  for (let i = 0; i < members; i++) {
    c.subscribe(subject, {
      queue: 'workers',
      callback: withGrayNatsMessage(lanes, (err: Error | null, m: CoreMsg) => {
        if (err === null) reply(m);
      }),
    });
  }
}

describe('MQ-25 core NATS: withGrayNatsMessage binds request/reply and queue groups, never breaks the connection', () => {
  const rows = (['v3', 'v2'] as const).flatMap((client) => FORMS.map((form) => ({ client, form })));
  it.each(rows)(
    'MQ-25 $client · $form · every marker row answers in its version',
    ({ client, form }) =>
      withClient(client, async (c) => {
        const subject = fresh('core.rr.').toLowerCase();
        respond(c, subject, form);
        await c.flush();
        const sendable = MARKERS.flatMap((row) => {
          const h = headersFor(row, c);
          return h === 'unsendable' ? [] : [{ row, h }];
        });
        const answers = await Promise.all(
          sendable.map(({ row, h }) =>
            c.request(subject, h).then(
              (got) => ({ row, got }),
              (err: Error) => ({ row, got: `request failed: ${err.message}` }),
            ),
          ),
        );
        // A refused marker is removed before the handler runs (GW-01): none is left but beta's.
        const wrong = answers.flatMap(({ row, got }) => {
          const want = `${row.want}|${String(row.want === 'beta' && !row.name.startsWith('baggage'))}`;
          return got === want ? [] : [`${row.name}: ${got} (want ${want})`];
        });
        expect(wrong).toEqual([]);
        expect(sendable.length).toBeGreaterThan(20);
        expect(c.isClosed()).toBe(false);
      }),
  );

  it.each(['v3', 'v2'] as const)(
    'MQ-25 %s · plain publish/subscribe callback: every message bound, the connection stays up',
    (client) =>
      withClient(client, async (c) => {
        const subject = fresh('core.ps.').toLowerCase();
        const seen: string[] = [];
        c.subscribe(subject, {
          callback: withGrayNatsMessage(lanes, (err: Error | null, _m: CoreMsg) => {
            if (err === null) seen.push(getGrayVersion());
          }),
        });
        await c.flush();
        c.publish(subject);
        await runWithGray('beta', () =>
          c.publish(subject, grayNatsHeaders(lanes, undefined, c.headers)),
        );
        c.publish(subject);
        await c.flush();
        await new Promise((r) => setTimeout(r, 50));
        await c.flush();
        expect(seen.sort()).toEqual(['beta', 'stable', 'stable']);
        expect(c.isClosed()).toBe(false);
      }),
    10_000,
  );

  it.each(['v3', 'v2'] as const)(
    'MQ-25 %s · a subscription timeout reaches the handler as (err, msg), outside any lane',
    (client) =>
      withClient(client, async (c) => {
        const got: { err: boolean; lane: string | undefined }[] = [];
        let settle: () => void = () => undefined;
        const done = new Promise<void>((r) => (settle = r));
        c.subscribe(fresh('core.to.').toLowerCase(), {
          timeout: 50,
          callback: withGrayNatsMessage(lanes, (err: Error | null, _m: CoreMsg) => {
            got.push({ err: err instanceof Error, lane: tryGetGrayVersion() });
            settle();
          }),
        });
        await done;
        expect(got).toEqual([{ err: true, lane: undefined }]);
        expect(c.isClosed()).toBe(false);
      }),
    10_000,
  );
});

describe('MQ-25 withGrayNatsMessage never throws of its own, whatever the client hands over', () => {
  const beta = () => {
    const h = v3Headers();
    h.set(HEADER, 'beta');
    return h;
  };
  const throwing = Object.defineProperty({}, 'headers', {
    get() {
      throw new Error('bad header block');
    },
  });
  // [call arguments, the version the handler runs in (undefined: outside any lane)]
  const CALLS: readonly [string, () => unknown[], string | undefined][] = [
    ['(null, msg with beta)', () => [null, { headers: beta() }], 'beta'],
    ['(undefined, msg with beta)', () => [undefined, { headers: beta() }], 'beta'],
    ['(msg with beta) — JetStream / iterator', () => [{ headers: beta() }], 'beta'],
    ['(msg with beta, 0, [msg]) — Array#forEach', () => [{ headers: beta() }, 0, []], 'beta'],
    ['(null, {}) — no headers', () => [null, {}], 'stable'],
    ['(Error, {}) — an error delivery', () => [new Error('timeout'), {}], undefined],
    ['(null, null)', () => [null, null], undefined],
    ['(null, undefined)', () => [null, undefined], undefined],
    ['(undefined)', () => [undefined], undefined],
    ['()', () => [], undefined],
    ['(null, 42)', () => [null, 42], undefined],
    ['("text")', () => ['text'], undefined],
    ['(null, msg whose headers getter throws)', () => [null, throwing], 'stable'],
    ['(msg whose headers getter throws)', () => [throwing], 'stable'],
    ['(null, { headers: 42 })', () => [null, { headers: 42 }], 'stable'],
    [
      '(null, { headers: a plain object with beta })',
      () => [null, { headers: { 'x-gray-id': 'beta' } }],
      'beta',
    ],
    [
      '(null, { headers: frozen header set })',
      () => [null, { headers: Object.freeze(beta()) }],
      'beta',
    ],
  ];
  it.each(CALLS.map(([name, args, lane]) => ({ name, args, lane })))(
    'MQ-25 $name → handler runs with the same arguments, lane $lane',
    ({ args, lane }) => {
      const given = args();
      let seen: { args: unknown[]; lane: string | undefined } | undefined;
      const wrapped = withGrayNatsMessage(lanes, (...got: unknown[]) => {
        seen = { args: got, lane: tryGetGrayVersion() };
        return 'result';
      }) as unknown as (...a: unknown[]) => unknown;
      expect(wrapped(...given)).toBe('result');
      expect(seen?.args).toEqual(given);
      expect(seen?.lane).toBe(lane);
    },
  );

  it('MQ-25 the handler’s own error propagates unchanged (acks and errors stay the handler’s)', () => {
    const boom = new Error('handler failed');
    const wrapped = withGrayNatsMessage(lanes, (_err: Error | null, _m: CoreMsg) => {
      throw boom;
    });
    expect(() => wrapped(null, { respond: () => true })).toThrow(boom);
  });
});
