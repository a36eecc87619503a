import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachGray, runWithGray } from '../../src/index.js';
import {
  WAYS,
  expectedShape,
  post,
  shapeOf,
  startSites,
  type Expected,
  type SiteName,
  type Sites,
  inBothModes,
} from './axios-sites.js';

/*
 * RDR-01/02, CTX-13 (review 81 D1): the caller's `beforeRedirect` under axios' http adapter may
 * move the next hop — follow-redirects hands it the options it then passes to `http.request`,
 * which connects by `hostname || host`, `port`, `protocol`, `socketPath` and the agent
 * (`agents[scheme]`), never by `href`. The old code judged `href`: a hook that moved the hop off
 * the allowlist (hostname, port, host, protocol, agent, socketPath) sent the marker there, and
 * one that moved it onto the allowlist lost it. Each row is one shape of hook, for every
 * redirect status, with the hook delivered three ways (CTX-14), with `attachGray` alone and
 * beside `installGlobal()`. The first hop is always `a` (allowlisted, marked); each row names
 * where the next one arrives and whether it is marked there. Allowlisted: a, ta.
 */

type Opts = Record<string, unknown> & { agents?: Record<string, unknown> };
type Hook = (o: Opts, s: Sites) => void;
type Location = 'a' | 'b' | 'ta' | 'tb' | 'name';

interface Row {
  readonly hook: string;
  /** Where the 30x points. */
  readonly location: Location;
  readonly write: Hook;
  /** Where the next hop arrives and whether it is marked; undefined: it reaches no server. */
  readonly then: readonly [SiteName, boolean] | undefined;
}

const agentTo = (port: number): http.Agent => new http.Agent({ host: '127.0.0.1', port });
const connecting = (port: number): http.Agent => {
  const agent = new http.Agent();
  agent.createConnection = () => net.connect(port, '127.0.0.1');
  return agent;
};
/** An http Agent whose own addRequest moves every request to `port`. */
const adding = (port: number): http.Agent => {
  const agent = new http.Agent();
  const own = agent as unknown as Record<string, (req: unknown, o: object) => void>;
  const add = own['addRequest']!.bind(agent);
  own['addRequest'] = (req, o) => add(req, { ...o, host: '127.0.0.1', port });
  return agent;
};

const ROWS: Row[] = [
  { hook: 'changes nothing', location: 'a', write: () => {}, then: ['a', true] },
  { hook: 'changes nothing', location: 'b', write: () => {}, then: ['b', false] },
  {
    hook: 'sets hostname (a name off the list, same server)',
    location: 'a',
    write: (o) => void (o.hostname = 'localhost'),
    then: ['a', false],
  },
  {
    hook: 'sets hostname (the listed name)',
    location: 'name',
    write: (o) => void (o.hostname = '127.0.0.1'),
    then: ['a', true],
  },
  {
    hook: 'sets hostname and port',
    location: 'a',
    write: (o, s) => void Object.assign(o, { hostname: '127.0.0.1', port: s.port.b }),
    then: ['b', false],
  },
  {
    hook: 'sets hostname and port',
    location: 'b',
    write: (o, s) => void Object.assign(o, { hostname: '127.0.0.1', port: s.port.a }),
    then: ['a', true],
  },
  {
    hook: 'sets port',
    location: 'a',
    write: (o, s) => void (o.port = s.port.b),
    then: ['b', false],
  },
  {
    hook: 'sets port',
    location: 'b',
    write: (o, s) => void (o.port = s.port.a),
    then: ['a', true],
  },
  {
    hook: 'sets port as a string',
    location: 'a',
    write: (o, s) => void (o.port = String(s.port.b)),
    then: ['b', false],
  },
  {
    hook: 'deletes hostname, sets host and port',
    location: 'a',
    write: (o, s) => {
      delete o.hostname;
      Object.assign(o, { host: '127.0.0.1', port: s.port.b });
    },
    then: ['b', false],
  },
  {
    hook: 'deletes hostname, sets host and port',
    location: 'b',
    write: (o, s) => {
      delete o.hostname;
      Object.assign(o, { host: '127.0.0.1', port: s.port.a });
    },
    then: ['a', true],
  },
  {
    hook: 'empties hostname, sets host',
    location: 'a',
    write: (o) => void Object.assign(o, { hostname: '', host: 'localhost' }),
    then: ['a', false],
  },
  {
    hook: 'empties hostname, sets host',
    location: 'name',
    write: (o) => void Object.assign(o, { hostname: '', host: '127.0.0.1' }),
    then: ['a', true],
  },
  {
    // Node looks `127.0.0.1:<port>` up as a name: no connection.
    hook: 'deletes hostname, sets host with a port',
    location: 'a',
    write: (o, s) => {
      delete o.hostname;
      o.host = `127.0.0.1:${s.port.b}`;
    },
    then: undefined,
  },
  {
    // follow-redirects drops `host` when `hostname` is set.
    hook: 'sets host with a port beside hostname',
    location: 'a',
    write: (o, s) => void (o.host = `127.0.0.1:${s.port.b}`),
    then: ['a', true],
  },
  {
    hook: 'sets host with a port beside hostname',
    location: 'b',
    write: (o, s) => void (o.host = `127.0.0.1:${s.port.a}`),
    then: ['b', false],
  },
  {
    hook: 'sets protocol https: and a port',
    location: 'a',
    write: (o, s) => void Object.assign(o, { protocol: 'https:', port: s.port.tb }),
    then: ['tb', false],
  },
  {
    hook: 'sets protocol https: and a port',
    location: 'b',
    write: (o, s) => void Object.assign(o, { protocol: 'https:', port: s.port.ta }),
    then: ['ta', true],
  },
  {
    hook: 'sets href only (Node never reads it)',
    location: 'a',
    write: (o, s) => void (o.href = `${s.origin.b}/`),
    then: ['a', true],
  },
  {
    hook: 'sets href only (Node never reads it)',
    location: 'b',
    write: (o, s) => void (o.href = `${s.origin.a}/`),
    then: ['b', false],
  },
  {
    hook: 'sets href to a, hostname and port to b',
    location: 'a',
    write: (o, s) =>
      void Object.assign(o, { href: `${s.origin.a}/`, hostname: '127.0.0.1', port: s.port.b }),
    then: ['b', false],
  },
  {
    hook: 'sets href to b, hostname and port to a',
    location: 'b',
    write: (o, s) =>
      void Object.assign(o, { href: `${s.origin.b}/`, hostname: '127.0.0.1', port: s.port.a }),
    then: ['a', true],
  },
  {
    hook: 'sets socketPath',
    location: 'a',
    write: (o, s) => void (o.socketPath = s.socket),
    then: ['unix', false],
  },
  {
    hook: 'swaps agents.http for one whose options name another port',
    location: 'a',
    write: (o, s) => void (o.agents!.http = agentTo(s.port.b)),
    then: ['b', false],
  },
  {
    hook: 'swaps agents.http for one whose options name another port',
    location: 'b',
    write: (o, s) => void (o.agents!.http = agentTo(s.port.a)),
    then: ['a', true],
  },
  {
    hook: 'swaps agents.https for one whose options name another port',
    location: 'ta',
    write: (o, s) =>
      void (o.agents!.https = new https.Agent({ ca: s.ca, host: '127.0.0.1', port: s.port.tb })),
    then: ['tb', false],
  },
  {
    hook: 'swaps agents.https for one whose options name another port',
    location: 'tb',
    write: (o, s) =>
      void (o.agents!.https = new https.Agent({ ca: s.ca, host: '127.0.0.1', port: s.port.ta })),
    then: ['ta', true],
  },
  {
    hook: 'sets options.agent (follow-redirects takes agents[scheme])',
    location: 'a',
    write: (o, s) => void (o.agent = agentTo(s.port.b)),
    then: ['a', true],
  },
  {
    hook: 'deletes agents, sets options.agent',
    location: 'a',
    write: (o, s) => {
      delete o.agents;
      o.agent = agentTo(s.port.b);
    },
    then: ['b', false],
  },
  {
    hook: 'deletes agents, sets options.agent',
    location: 'b',
    write: (o, s) => {
      delete o.agents;
      o.agent = agentTo(s.port.a);
    },
    then: ['a', true],
  },
  {
    hook: 'swaps agents.http for one with its own createConnection',
    location: 'a',
    write: (o, s) => void (o.agents!.http = connecting(s.port.b)),
    then: ['b', false],
  },
  {
    // Other code connects: nothing proves where (as installGlobal judges it).
    hook: 'swaps agents.http for one with its own createConnection to the listed host',
    location: 'a',
    write: (o, s) => void (o.agents!.http = connecting(s.port.a)),
    then: ['a', false],
  },
  {
    hook: 'swaps agents.http for one with its own addRequest',
    location: 'a',
    write: (o, s) => void (o.agents!.http = adding(s.port.b)),
    then: ['b', false],
  },
  {
    hook: 'drops the agent and sets createConnection',
    location: 'a',
    write: (o, s) => {
      o.agents!.http = undefined;
      o.createConnection = () => net.connect(s.port.b, '127.0.0.1');
    },
    then: ['b', false],
  },
  {
    hook: 'sets agents.http to false (a fresh default agent)',
    location: 'a',
    write: (o) => void (o.agents!.http = false),
    then: ['a', true],
  },
];

/** RDR-02: the hook moves only the first redirect; the second follows its Location. */
const CHAINS: { name: string; via: Location; write: Hook; expected: Expected }[] = [
  {
    name: 'a → (hook: port of b) → b → a',
    via: 'a',
    write: (o, s) => void (o.port = s.port.b),
    expected: [
      ['a', true],
      ['b', false],
      ['a', true],
    ],
  },
  {
    name: 'a → (hook: port of a) → a → b',
    via: 'b',
    write: (o, s) => void (o.port = s.port.a),
    expected: [
      ['a', true],
      ['a', true],
      ['b', false],
    ],
  },
  {
    name: 'a → (hook: https: port of tb) → tb → a',
    via: 'a',
    write: (o, s) => void Object.assign(o, { protocol: 'https:', port: s.port.tb }),
    expected: [
      ['a', true],
      ['tb', false],
      ['a', true],
    ],
  },
];

const STATUSES = [301, 302, 303, 307, 308];
let sites: Sites;
let seq = 0;
let eject: () => void;

beforeAll(async () => {
  sites = await startSites();
  eject = attachGray(axios, { allowHosts: sites.allowHosts });
});
afterAll(async () => {
  eject();
  await sites.close();
});

function originOf(where: Location): string {
  return where === 'name' ? `http://localhost:${sites.port.a}` : sites.origin[where];
}

/** The config every call carries: its hook, and an https agent that trusts ta and tb. */
function configOf(write: Hook, once = false): Record<string, unknown> {
  let calls = 0;
  return {
    httpsAgent: new https.Agent({ ca: sites.ca }),
    beforeRedirect: (o: Opts) => {
      if (!once || calls++ === 0) write(o, sites);
    },
  };
}

function suite(): void {
  describe.each(WAYS)('CTX-14 the hook reaches the request through %s', (way) => {
    it.each(ROWS.map((r) => [`${r.hook}, 30x to ${r.location}`, r] as const))(
      'RDR-01 CTX-13 a hook that %s',
      async (_name, { location, write, then }) => {
        for (const status of STATUSES) {
          const id = `h${++seq}`;
          const url = `${sites.origin.a}/r/${id}/${status}?to=${encodeURIComponent(`${originOf(location)}/echo/${id}`)}`;
          const call = runWithGray('beta', () => post(way, url, configOf(write), sites.allowHosts));
          if (then === undefined) await expect(call, `${status}`).rejects.toThrow();
          else await call;
          const expected: Expected = then === undefined ? [['a', true]] : [['a', true], then];
          expect(shapeOf(sites.arrivals(id)), `${status}`).toEqual(expectedShape(expected));
        }
      },
    );

    it.each(CHAINS.map((c) => [c.name, c] as const))('RDR-02 %s', async (_n, c) => {
      const { via, write, expected } = c;
      for (const status of STATUSES) {
        const id = `c${++seq}`;
        const last = `${originOf(via === 'a' ? 'a' : 'b')}/echo/${id}`;
        const hop = `${originOf(via)}/r/${id}/${status}?to=${encodeURIComponent(last)}`;
        const url = `${sites.origin.a}/r/${id}/${status}?to=${encodeURIComponent(hop)}`;
        await runWithGray('beta', () => post(way, url, configOf(write, true), sites.allowHosts));
        expect(shapeOf(sites.arrivals(id)), `${status}`).toEqual(expectedShape(expected));
      }
    });
  });
}

inBothModes(suite, () => sites.allowHosts);
