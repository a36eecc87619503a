import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createMessageLanes } from '../dist/index.js';
import { createNatsLanes } from '../dist/nats.js';
import { openCases, HEADER } from './adversarial.js';
import { startNats } from './brokers/nats.js';
import { CONFIG } from './helpers.js';
import { laneSuite, type BrokerDriver } from './lane-suite.js';

/** Adversarial rows NATS can carry: header values are strings, without CR, LF or NUL. */
function natsCases() {
  return openCases().filter((row) => {
    if (typeof row.value !== 'string') return false;
    try {
      headers().set(HEADER, row.value);
      return true;
    } catch {
      return false;
    }
  });
}

laneSuite(async () => {
  const server = await startNats();
  const connections: NatsConnection[] = [];
  const lanes = createMessageLanes({ config: CONFIG, allowHosts: ['127.0.0.1'] });
  const driver: BrokerDriver = {
    broker: 'nats',
    url: server.url,
    cases: [
      ...natsCases(),
      { name: 'HDR-07 header appended twice', value: ['beta', 'beta'], reason: 'invalid_marker' },
    ],
    async open(name) {
      const nc = await connect({ servers: server.url });
      connections.push(nc);
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      const router = createNatsLanes({
        lanes,
        js,
        jsm,
        stream: name,
        subject: name.toLowerCase(),
        liveness: { intervalMs: 200, graceMs: 1000 },
        drainIntervalMs: 200,
      });
      await router.setup();
      return {
        publish: async (id) => void (await router.publish(id)),
        publishMany: async (ids) => void (await Promise.all(ids.map((id) => router.publish(id)))),
        consume: (lane, onMessage) =>
          router.consume(lane, (m) => {
            void onMessage(m.string()).then(() => m.ack());
          }),
        live: (lane) => router.liveness.refresh(lane),
        async pending(lane) {
          const info = await jsm.consumers.info(name, router.durableFor(lane));
          return info.num_pending + info.num_ack_pending;
        },
        async publishRaw(id, row) {
          const h = headers();
          const values: unknown[] = Array.isArray(row.value) ? row.value : [row.value];
          for (const v of values) h.append(HEADER, String(v));
          await js.publish(name.toLowerCase(), id, { headers: h });
        },
        close: async () => undefined,
      };
    },
  };
  return {
    driver,
    async stop() {
      await Promise.all(connections.map((c) => c.close()));
      await server.stop();
    },
  };
});
