import { join } from 'node:path';
import { freePort, startBroker, tempDir } from './process.js';

/** A nats-server with JetStream (`-js -sd <tmp>`) on a free 127.0.0.1 port. */
export async function startNats(): Promise<{ url: string; stop(): Promise<void> }> {
  const tmp = tempDir('graylane-nats-');
  const port = await freePort();
  const broker = await startBroker(
    '/usr/sbin/nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(tmp.dir, 'js')],
    { port, timeoutMs: 15_000, log: join(tmp.dir, 'nats.log') },
  );
  return {
    url: `127.0.0.1:${port}`,
    async stop() {
      await broker.stop();
      tmp.remove();
    },
  };
}
