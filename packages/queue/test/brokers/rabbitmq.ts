import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startBroker, tempDir } from './process.js';

/** The Debian package's real start script (`/usr/sbin/rabbitmq-server` switches to the rabbitmq user). */
const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/**
 * A RabbitMQ node for one test file: unique node name, free AMQP / distribution / epmd ports,
 * mnesia, logs, config and `HOME` (Erlang cookie) in a temp dir, no plugins. Stopped by signal
 * (the Erlang VM shuts down on SIGTERM); its private epmd is killed afterwards.
 */
export async function startRabbit(): Promise<{ url: string; stop(): Promise<void> }> {
  // A free port can be taken again between the probe and the broker's bind (another test's
  // outgoing connection gets it as its local port): the node then exits at start with
  // `dist_port_already_used` or `eaddrinuse`. Start again on fresh ports, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRabbitOnce();
    } catch (err) {
      if (attempt >= 3 || !/already_used|eaddrinuse/i.test(String(err))) throw err;
    }
  }
}

async function startRabbitOnce(): Promise<{ url: string; stop(): Promise<void> }> {
  const tmp = tempDir('graylane-rabbit-');
  const [port, dist, epmd] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(tmp.dir, 'enabled_plugins'), '[].\n');
  writeFileSync(
    join(tmp.dir, 'rabbitmq.conf'),
    `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: tmp.dir,
    RABBITMQ_NODENAME: `graylane-${process.pid}-${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_MNESIA_BASE: join(tmp.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(tmp.dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(tmp.dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(tmp.dir, 'rabbitmq'),
    RABBITMQ_PID_FILE: join(tmp.dir, 'rabbit.pid'),
    ERL_EPMD_PORT: String(epmd),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const killEpmd = () =>
    new Promise<void>((resolve) => execFile('epmd', ['-kill'], { env }, () => resolve()));
  let broker: Awaited<ReturnType<typeof startBroker>>;
  try {
    broker = await startBroker(SERVER, [], {
      env,
      port,
      timeoutMs: 90_000,
      log: join(tmp.dir, 'rabbit.out'),
    });
  } catch (err) {
    await killEpmd();
    tmp.remove();
    throw err;
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    async stop() {
      await broker.stop();
      await killEpmd();
      tmp.remove();
    },
  };
}
