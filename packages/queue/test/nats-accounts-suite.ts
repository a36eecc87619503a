import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { getGrayVersion, runWithGray } from '@graylane/node';
import { afterAll, beforeAll, expect } from 'vitest';
import { createMessageLanes } from '../dist/index.js';
import { createNatsLanes, grayNatsHeaders, type NatsLanesOptions } from '../dist/nats.js';
import {
  DURABLE,
  apiProxy,
  manager,
  startNatsAccounts,
  subjectOf,
  watchApi,
  type AccountsServer,
  type ProxyAnswer,
  type UserName,
} from './brokers/nats-accounts.js';
import { CONFIG } from './helpers.js';

/**
 * The NATS permission suites' fixture: one nats-server with accounts and users
 * (brokers/nats-accounts.ts) per test file, started by the file's beforeAll, and the stream,
 * router and consumer helpers its rows share.
 */
export const lanes = createMessageLanes({ config: CONFIG });
export const TUNING = { liveness: { intervalMs: 50, graceMs: 0 }, drainIntervalMs: 50 } as const;
export type Lane = (typeof CONFIG.versions)[number];

let server: AccountsServer | undefined;
export let admin: { nc: NatsConnection; jsm: JetStreamManager };
export const srv = (): AccountsServer => {
  if (!server) throw new Error('the nats-server starts in beforeAll');
  return server;
};
/** Starts the server before the calling file's tests and stops it after them. */
export function useNatsAccounts(): void {
  beforeAll(async () => {
    server = await startNatsAccounts();
    const nc = await server.connect('admin');
    admin = { nc, jsm: await manager(nc) };
  }, 30_000);
  afterAll(async () => server?.stop(), 30_000);
}

/** A stream as the app may have left it before setup() or consume(). */
export type StreamState =
  | 'missing'
  | 'workqueue'
  | 'workqueue without the lane subject'
  | 'workqueue with an app subject'
  | 'limits';

export async function makeStream(
  stream: string,
  state: StreamState,
  consumers = true,
): Promise<void> {
  if (state === 'missing') return;
  const base = subjectOf(stream);
  const subjects =
    state === 'workqueue without the lane subject'
      ? [base]
      : state === 'workqueue with an app subject'
        ? [base, `${base}.lane.beta`, `${base}-audit`]
        : [base, `${base}.lane.beta`];
  const retention = state === 'limits' ? {} : { retention: 'workqueue' };
  await admin.jsm.streams.add({ name: stream, subjects, ...retention } as never);
  if (!consumers || state === 'limits' || state === 'workqueue without the lane subject') return;
  for (const [durable, subject] of [
    [DURABLE, base],
    [`${DURABLE}_lane_beta`, `${base}.lane.beta`],
  ] as const) {
    await admin.jsm.consumers.add(stream, {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: 'explicit',
    } as never);
  }
}

/** The stream as the server keeps it: config, consumers and stored messages, or missing. */
export async function snapshot(stream: string): Promise<unknown> {
  const info = await admin.jsm.streams.info(stream).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 10059) return undefined;
    throw err;
  });
  if (info === undefined) return 'missing';
  const consumers = await admin.jsm.consumers.list(stream).next();
  return {
    retention: info.config.retention,
    subjects: [...(info.config.subjects ?? [])].sort(),
    consumers: consumers.map((c) => c.name).sort(),
    messages: info.state.messages,
  };
}

/** A router of `stream` for `user`; `viaProxy` answers its JetStreamManager's calls instead. */
export async function routerFor(
  user: UserName,
  stream: string,
  extra: Partial<NatsLanesOptions> & { viaProxy?: (api: string) => ProxyAnswer } = {},
) {
  const nc = await srv().connect(user);
  const { viaProxy, ...options } = extra;
  let jsm = await manager(nc, 1_000);
  if (viaProxy) {
    const prefix = `PROXY.${stream}`;
    apiProxy(admin.nc, prefix, (api) => viaProxy(api));
    await admin.nc.flush();
    jsm = await jetstream(nc, { apiPrefix: prefix, timeout: 300 }).jetstreamManager(false);
  }
  const router = createNatsLanes({
    lanes,
    js: jetstream(nc),
    jsm,
    stream,
    subject: subjectOf(stream),
    durable: DURABLE,
    ...TUNING,
    ...options,
  });
  return { nc, router };
}

/**
 * The API requests the server accepted for `stream`, in the account `user` is in (`flush()` before
 * reading; the admin's own reads are seen too, so read before taking a snapshot).
 */
export async function watch(user: UserName, stream: string) {
  const nc = user === 'nojs' ? await srv().connect('nojs') : admin.nc;
  const seen = await watchApi(nc, stream);
  return { seen, flush: () => nc.flush() };
}

export const refused = (...says: string[]) =>
  expect.objectContaining({
    name: 'GraylaneError',
    code: 'INVALID_OPTIONS',
    message: expect.stringMatching(
      says.map((s) => `(?=[\\s\\S]*${s.replace(/[.*+?^${}()|[\]\\$]/g, '\\$&')})`).join(''),
    ),
  });

/** One message waiting on `lane`'s subject, carrying `lane`'s marker. */
export async function waiting(stream: string, lane: Lane, id: string): Promise<void> {
  const subject = lane === 'beta' ? `${subjectOf(stream)}.lane.beta` : subjectOf(stream);
  await runWithGray(lane, () =>
    jetstream(admin.nc).publish(subject, id, { headers: grayNatsHeaders(lanes) }),
  );
}

export async function consumeAs(
  user: UserName,
  stream: string,
  lane: Lane,
  options: Partial<NatsLanesOptions> & { viaProxy?: (api: string) => ProxyAnswer } = {},
) {
  const { router } = await routerFor(user, stream, options);
  const ran: string[] = [];
  const started = await router
    .consume(lane, (m) => {
      ran.push(`${m.string()}:${getGrayVersion()}`);
      m.ack();
    })
    .then(
      (consumer) => ({ consumer }),
      (error: unknown) => ({ error }),
    );
  return { router, ran, started };
}
