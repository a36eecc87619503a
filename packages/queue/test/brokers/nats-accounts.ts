import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { freePort, startBroker, tempDir } from './process.js';

/**
 * The durable name every router of these suites uses, so a permission can name a lane's consumer
 * (`ORDERS_lane_beta`) while each test has a stream of its own (`*` in the stream token).
 */
export const DURABLE = 'ORDERS';
/** Base subjects are `q.<stream>`: `q.*` and `q.*.lane.>` name every test's subjects. */
export const subjectOf = (stream: string): string => `q.${stream.toLowerCase()}`;

type Perms = { readonly allow?: readonly string[]; readonly deny?: readonly string[] };
interface User {
  readonly publish?: Perms;
  readonly subscribe?: Perms;
}

/**
 * The least-privilege roles docs/queues.md lists, for stream `s` (`*`: every stream), durable
 * `ORDERS` and base subject `base`. A test user is a role, or full access less one API.
 */
export function roles(s: string, base: string) {
  const inbox = { allow: ['_INBOX.>'] };
  const api = (...subjects: string[]) => ['$JS.API.INFO', ...subjects];
  const laneConsumer = (durable: string) => [
    `$JS.API.CONSUMER.INFO.${s}.${durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${s}.${durable}`,
    `$JS.ACK.${s}.>`,
  ];
  return {
    /** `setup()`. (`CONSUMER.DURABLE.CREATE` is what older clients and servers send.) */
    deploy: {
      publish: {
        allow: api(
          `$JS.API.STREAM.INFO.${s}`,
          `$JS.API.STREAM.CREATE.${s}`,
          `$JS.API.STREAM.UPDATE.${s}`,
          // setup() adds a lane's durable only when CONSUMER.INFO says it has none (MQ-36).
          `$JS.API.CONSUMER.INFO.${s}.>`,
          `$JS.API.CONSUMER.CREATE.${s}.>`,
          `$JS.API.CONSUMER.DURABLE.CREATE.${s}.>`,
        ),
      },
      subscribe: inbox,
    },
    /** `publish()`: the subjects, and the lanes' consumers for liveness. */
    producer: {
      publish: { allow: api(base, `${base}.lane.>`, `$JS.API.CONSUMER.INFO.${s}.>`) },
      subscribe: inbox,
    },
    /** `consume('beta')`. */
    beta: {
      publish: { allow: api(`$JS.API.STREAM.INFO.${s}`, ...laneConsumer(`${DURABLE}_lane_beta`)) },
      subscribe: inbox,
    },
    /** `consume('beta')` with `streamRetention: 'workqueue'`: no STREAM.INFO. */
    betaNoInfo: {
      publish: { allow: api(...laneConsumer(`${DURABLE}_lane_beta`)) },
      subscribe: inbox,
    },
    /** `consume('stable')`: its own consumer, and the drain. */
    stable: {
      publish: {
        allow: api(
          `$JS.API.STREAM.INFO.${s}`,
          ...laneConsumer(DURABLE),
          `$JS.API.CONSUMER.INFO.${s}.>`,
          // The drain pulls a dead lane's messages through that lane's durable (MQ-33).
          `$JS.API.CONSUMER.MSG.NEXT.${s}.>`,
          `$JS.API.STREAM.MSG.GET.${s}`,
          `$JS.API.STREAM.MSG.DELETE.${s}`,
          base,
        ),
      },
      subscribe: inbox,
    },
    /** `consume('stable')` with `streamRetention: 'workqueue'`. */
    stableNoInfo: {
      publish: {
        allow: api(
          ...laneConsumer(DURABLE),
          `$JS.API.CONSUMER.INFO.${s}.>`,
          // The drain pulls a dead lane's messages through that lane's durable (MQ-33).
          `$JS.API.CONSUMER.MSG.NEXT.${s}.>`,
          `$JS.API.STREAM.MSG.GET.${s}`,
          `$JS.API.STREAM.MSG.DELETE.${s}`,
          base,
        ),
      },
      subscribe: inbox,
    },
  } satisfies Record<string, User>;
}

const ROLES = roles('*', 'q.*');
/** Full access less the API subjects given. */
const without = (...deny: string[]): User => ({ publish: { allow: ['>'], deny } });

/** Every user of the test server's JetStream account (password `pw`). */
export const USERS = {
  admin: {},
  ...ROLES,
  noStreamInfo: without('$JS.API.STREAM.INFO.>'),
  noStreamCreate: without('$JS.API.STREAM.CREATE.>'),
  noStreamUpdate: without('$JS.API.STREAM.UPDATE.>'),
  noConsumerCreate: without('$JS.API.CONSUMER.CREATE.>', '$JS.API.CONSUMER.DURABLE.CREATE.>'),
  noConsumerInfo: without('$JS.API.CONSUMER.INFO.>'),
  /** Sees its own durable only: not beta's. */
  noLaneInfo: without(`$JS.API.CONSUMER.INFO.*.${DURABLE}_lane_beta`),
  noMsgGet: without('$JS.API.STREAM.MSG.GET.>'),
  noMsgDelete: without('$JS.API.STREAM.MSG.DELETE.>'),
  noInbox: { subscribe: { deny: ['_INBOX.>'] } },
} satisfies Record<string, User>;
export type UserName = keyof typeof USERS | 'nojs';

function permissions(user: User): string {
  const list = (p: Perms) =>
    [p.allow && `allow: ${JSON.stringify(p.allow)}`, p.deny && `deny: ${JSON.stringify(p.deny)}`]
      .filter(Boolean)
      .join(', ');
  const parts = [
    user.publish && `publish: { ${list(user.publish)} }`,
    user.subscribe && `subscribe: { ${list(user.subscribe)} }`,
  ].filter(Boolean);
  return parts.length === 0 ? '' : `, permissions: { ${parts.join(', ')} }`;
}

/** A nats-server whose account APP has JetStream and the users above; account NOJS has neither. */
export interface AccountsServer {
  readonly url: string;
  /** A connection as `user`; closed by `stop()`. */
  connect(user: UserName): Promise<NatsConnection>;
  stop(): Promise<void>;
}

export async function startNatsAccounts(): Promise<AccountsServer> {
  const tmp = tempDir('graylane-nats-acc-');
  const port = await freePort();
  const users = Object.entries(USERS)
    .map(([name, user]) => `{ user: ${name}, password: pw${permissions(user)} }`)
    .join('\n      ');
  const config = `listen: 127.0.0.1:${port}
jetstream { store_dir: ${JSON.stringify(join(tmp.dir, 'js'))} }
accounts {
  APP: {
    jetstream: enabled
    users: [
      ${users}
    ]
  }
  NOJS: { users: [ { user: nojs, password: pw } ] }
}
`;
  const file = join(tmp.dir, 'nats.conf');
  writeFileSync(file, config);
  const broker = await startBroker('/usr/sbin/nats-server', ['-c', file], {
    port,
    timeoutMs: 15_000,
    log: join(tmp.dir, 'nats.log'),
  });
  const open: NatsConnection[] = [];
  const url = `127.0.0.1:${port}`;
  return {
    url,
    async connect(user) {
      const nc = await connect({ servers: url, user, pass: 'pw' });
      open.push(nc);
      return nc;
    },
    async stop() {
      for (const nc of open) if (!nc.isClosed()) await nc.close();
      await broker.stop();
      tmp.remove();
    },
  };
}

/** A JetStreamManager for `nc` (no `$JS.API.INFO` check: the NOJS and no-inbox users fail it). */
export function manager(nc: NatsConnection, timeout = 2_000): Promise<JetStreamManager> {
  return jetstreamManager(nc, { checkAPI: false, timeout });
}

/**
 * Records the JetStream API requests the server accepted in the account of `nc` (a core
 * subscription on `$JS.API.>` sees what the API sees), as `STREAM.CREATE` … for `stream`.
 */
export async function watchApi(nc: NatsConnection, stream: string): Promise<string[]> {
  const seen: string[] = [];
  nc.subscribe('$JS.API.>', {
    callback: (_err, m) => {
      // $JS.API.STREAM.INFO.<stream>, $JS.API.STREAM.MSG.GET.<stream>, $JS.API.CONSUMER.DURABLE.CREATE.<stream>.<durable> …
      const [, , kind, op, ...rest] = m.subject.split('.');
      const nested = op === 'MSG' || op === 'DURABLE';
      const name = nested ? rest[1] : rest[0];
      if (name === stream) seen.push(nested ? `${kind}.${op}.${rest[0]}` : `${kind}.${op}`);
    },
  });
  await nc.flush();
  return seen;
}

/** What the API proxy does with one request. */
export type ProxyAnswer =
  | 'forward'
  | 'swallow'
  | { readonly code: number; readonly err_code: number; readonly description: string };

/**
 * A JetStream API prefix (`<prefix>.STREAM.INFO.X` …) answered by forwarding each request to
 * `$JS.API` — or, as `decide` says, never (the client times out) or with a JetStream API error:
 * a JetStream that is slow or failing for some calls, on a real server. `calls` counts each
 * request's API name (`CONSUMER.INFO`, `STREAM.MSG.DELETE`) by what was decided.
 */
export function apiProxy(
  nc: NatsConnection,
  prefix: string,
  decide: (api: string, subject: string) => ProxyAnswer,
): { calls: { api: string; subject: string; answer: string }[] } {
  const calls: { api: string; subject: string; answer: string }[] = [];
  const respond = async (m: Msg): Promise<void> => {
    const rest = m.subject.slice(prefix.length + 1);
    const parts = rest.split('.');
    const api = parts[1] === 'MSG' ? parts.slice(0, 3).join('.') : parts.slice(0, 2).join('.');
    const answer = decide(api, rest);
    calls.push({ api, subject: rest, answer: typeof answer === 'string' ? answer : 'error' });
    if (answer === 'swallow') return;
    if (answer !== 'forward') {
      m.respond(JSON.stringify({ type: 'io.nats.jetstream.api.v1.error', error: answer }));
      return;
    }
    const reply = await nc.request(`$JS.API.${rest}`, m.data, {
      timeout: 5_000,
      ...(m.headers ? { headers: m.headers } : {}),
    });
    m.respond(reply.data, reply.headers ? { headers: reply.headers } : {});
  };
  // A request the proxy could not forward goes unanswered: the client times out, as it would.
  nc.subscribe(`${prefix}.>`, { callback: (_err, m) => void respond(m).catch(() => undefined) });
  return { calls };
}
