import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtelChild } from './otel-child.js';

/**
 * OTB-02 and OTB-05 with the real OTel 2.x SDK (sdk-node 0.223, the default W3C propagators) and
 * the http + undici instrumentations, in a child process (sdk-node patches `http` before it is
 * required). The next hop is a plain server that records the `baggage` header it received.
 * - OTB-02: in `edge` mode or with `markers.baggage: false`, a client's `gray` member never
 *   reaches the next hop through OTel's baggage propagation (the http instrumentation extracts
 *   it into the server context before graylane runs); other members still travel (the control).
 * - OTB-05: `runWithGray` / `bindGray` in a job outside any request put `gray=<version>` into
 *   OTel baggage; a malformed version is ignored (no member, no throw).
 */
const fixture = fileURLToPath(new URL('./fixtures/otel-baggage-service.cjs', import.meta.url));

const seen = new Map<string, string | undefined>();
let echo: Server;
let echoUrl: string;

beforeAll(async () => {
  echo = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    const baggage = req.headers.baggage;
    seen.set(id, typeof baggage === 'string' ? baggage : undefined);
    res.end('ok');
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => echo.close(() => r())));

/** The members of a W3C baggage header as key → decoded value (properties dropped). */
function members(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(',')) {
    const [kv] = part.split(';');
    const eq = kv?.indexOf('=') ?? -1;
    if (kv === undefined || eq < 0) continue;
    out.set(kv.slice(0, eq).trim(), decodeURIComponent(kv.slice(eq + 1).trim()));
  }
  return out;
}

function startService(mode: string): Promise<{ url: string; child: ChildProcess }> {
  return startOtelChild(fixture, { MODE: mode, NEXT: echoUrl });
}

/** Client baggage headers that all say `gray=beta` to a W3C parser, beside a `tenant` member. */
const clientBaggage = [
  'gray=beta,tenant=t1',
  'tenant=t1,gray=beta',
  'tenant=t1, gray = beta ',
  'gray=beta;prop=1,tenant=t1',
  'tenant=t1,gray=%62eta',
  'gray=beta,tenant=t1,gray=beta',
];
const vias = ['http', 'fetch'] as const;

let counter = 0;
async function hop(
  service: string,
  via: string,
  baggage: string,
): Promise<{ version: string; next: Map<string, string> }> {
  const id = `hop-${counter++}`;
  const res = await fetch(`${service}/hop?via=${via}&id=${id}`, { headers: { baggage } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { version: string; status: number };
  expect(body.status).toBe(200);
  expect(seen.has(id)).toBe(true);
  return { version: body.version, next: members(seen.get(id)) };
}

describe.each(['edge', 'baggage-off', 'open'] as const)('OTB-02 OTel baggage, mode %s', (mode) => {
  let service: { url: string; child: ChildProcess };
  beforeAll(async () => {
    service = await startService(mode);
  }, 30_000);
  afterAll(() => {
    service?.child.kill('SIGTERM');
  });

  const cases = vias.flatMap((via) => clientBaggage.map((baggage) => ({ via, baggage })));
  it.each(cases)(
    `OTB-02 ${mode}: client baggage "$baggage", next hop via $via`,
    async ({ via, baggage }) => {
      const { version, next } = await hop(service.url, via, baggage);
      // The control: OTel does forward inbound baggage in this setup.
      expect(next.get('tenant')).toBe('t1');
      if (mode === 'open') {
        // Open mode honours the client's member (a repeated equal member is not ambiguous).
        expect(version).toBe('beta');
        expect(next.get('gray')).toBe('beta');
        return;
      }
      expect(version).toBe('stable');
      if (mode === 'edge') expect(next.get('gray')).toBe('stable');
      else expect(next.has('gray')).toBe(false);
    },
  );
});

describe.each(['edge', 'baggage-off', 'open'] as const)(
  'OTB-04 withGray(fetch) beside OTel baggage, mode %s',
  (mode) => {
    let service: { url: string; child: ChildProcess };
    beforeAll(async () => {
      service = await startService(mode);
    }, 30_000);
    afterAll(() => {
      service?.child.kill('SIGTERM');
    });

    // Every input shape fetch takes: OTel's undici instrumentation appends its own baggage
    // header to the one graylane wrote; the next hop must get one list with the decided member
    // exactly once (a `Request` input lost it: its plan could not be proven at creation).
    const wrappedVias = ['gfetch-str', 'gfetch-url', 'gfetch-req', 'gfetch-req-init'];
    const cases = wrappedVias.flatMap((via) => clientBaggage.map((baggage) => ({ via, baggage })));
    it.each(cases)(
      `OTB-04 ${mode}: client baggage "$baggage", via $via`,
      async ({ via, baggage }) => {
        const id = `w-${counter++}`;
        const res = await fetch(`${service.url}/hop?via=${via}&id=${id}`, { headers: { baggage } });
        const body = (await res.json()) as { version: string; status: number };
        expect(body.status).toBe(200);
        const raw = seen.get(id) ?? '';
        const grays = raw.split(',').filter((m) => /^\s*gray\s*=/.test(m));
        expect(members(raw).get('tenant'), raw).toBe('t1');
        expect(body.version).toBe(mode === 'open' ? 'beta' : 'stable');
        if (mode === 'baggage-off') expect(grays, raw).toEqual([]);
        else {
          expect(grays.length, raw).toBe(1);
          expect(members(raw).get('gray'), raw).toBe(body.version);
        }
      },
    );
  },
);

describe('OTB-05 runWithGray / bindGray in jobs carry the version in OTel baggage', () => {
  let service: { url: string; child: ChildProcess };
  beforeAll(async () => {
    service = await startService('open');
  }, 30_000);
  afterAll(() => {
    service?.child.kill('SIGTERM');
  });

  async function job(version: string, via: string, bind: boolean): Promise<Map<string, string>> {
    const id = `job-${counter++}`;
    const q = new URLSearchParams({ version, via, bind: bind ? '1' : '0', id });
    const res = await fetch(`${service.url}/job?${q}`);
    expect(await res.json()).toEqual({ status: 200 });
    expect(seen.has(id)).toBe(true);
    return members(seen.get(id));
  }

  const good = vias.flatMap((via) =>
    [false, true].flatMap((bind) => ['beta', 'gamma', 'stable'].map((v) => ({ via, bind, v }))),
  );
  it.each(good)('OTB-05 runWithGray($v) via $via, bindGray $bind', async ({ via, bind, v }) => {
    expect((await job(v, via, bind)).get('gray')).toBe(v);
  });

  const malformed = vias.flatMap((via) =>
    [false, true].flatMap((bind) =>
      ['Beta!', '', 'beta,gamma', 'x'.repeat(200), 'be ta', 'bêta'].map((v) => ({ via, bind, v })),
    ),
  );
  it.each(malformed)(
    'OTB-05 malformed version "$v" via $via, bindGray $bind: ignored, never thrown',
    async ({ via, bind, v }) => {
      expect((await job(v, via, bind)).has('gray')).toBe(false);
    },
  );
});
