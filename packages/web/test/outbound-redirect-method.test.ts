import { createLane, withGray } from '@graylane/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecorder, type Recorder } from './support/recorder.js';

/*
 * RDR-01: a redirect that turns a POST into a GET (303; 301/302 after a POST) sets the request
 * body to null (Fetch, HTTP-redirect fetch step 12), so a later 307/308 in the same chain
 * resends no body. withGray kept the body for every 307/308 hop: the chain rejected with a
 * TypeError ("Request with GET/HEAD method cannot have body", or "must resend a body that cannot
 * be resent" for a stream) where fetch answers. A stream body is the exception: fetch fails every
 * redirect but a 303 while the request has one (step 11), and so does withGray.
 */

let allowed: Recorder;
let other: Recorder;
beforeAll(async () => {
  [allowed, other] = await Promise.all([startRecorder(), startRecorder()]);
});
afterAll(() => Promise.all([allowed.close(), other.close()]));

const PAYLOAD = 'field=value&other=x';
const stream = () =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(PAYLOAD));
      c.close();
    },
  });
type Args = [string | Request, RequestInit | undefined];
const BODIES: [string, (url: string) => Args][] = [
  ['a string in init', (u) => [u, { method: 'POST', body: PAYLOAD }]],
  ['bytes in init', (u) => [u, { method: 'POST', body: new TextEncoder().encode(PAYLOAD) }]],
  ['URLSearchParams in init', (u) => [u, { method: 'POST', body: new URLSearchParams(PAYLOAD) }]],
  [
    'a stream in init',
    (u) => [u, { method: 'POST', body: stream(), duplex: 'half' } as RequestInit],
  ],
  ['a Request', (u) => [new Request(u, { method: 'POST', body: PAYLOAD }), undefined]],
];
const TO_GET = [301, 302, 303] as const;
const KEEP = [307, 308] as const;

const rows = BODIES.flatMap(([body, make]) =>
  TO_GET.flatMap((first) =>
    KEEP.flatMap((then) =>
      (['the same origin', 'another origin'] as const).map((where) => ({
        body,
        make,
        first,
        then,
        where,
      })),
    ),
  ),
);

describe('RDR-01 a body dropped by a redirect stays dropped', () => {
  it.each(rows)(
    'POST with $body, $first then $then to $where: what fetch does',
    async ({ body, make, first, then, where }) => {
      const end = where === 'the same origin' ? `${allowed.origin}/final` : `${other.origin}/final`;
      const second = `${allowed.origin}/r?status=${then}&to=${encodeURIComponent(end)}`;
      const url = `${allowed.origin}/r?status=${first}&to=${encodeURIComponent(second)}`;
      const gray = withGray(fetch, { lane: createLane('beta', { allowHosts: [allowed.host] }) });
      // Fetch step 11: a stream body fails any redirect but a 303, even one that makes it a GET.
      if (body === 'a stream in init' && first !== 303) {
        await expect(fetch(...make(url))).rejects.toThrow(TypeError);
        await expect(gray(...make(url))).rejects.toThrow(/stream body cannot be resent/);
        return;
      }
      const own = (await (await fetch(...make(url))).json()) as { method: string; body: string };
      expect(own).toMatchObject({ method: 'GET', body: '' });
      const res = await gray(...make(url));
      const final = (await res.json()) as { method: string; body: string; marker?: string };
      expect(final).toMatchObject({ method: 'GET', body: '' });
      expect(final.marker).toBe(where === 'the same origin' ? 'beta' : undefined);
      expect([res.redirected, res.url]).toEqual([true, end]);
    },
  );
});
