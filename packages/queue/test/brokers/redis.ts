import { join } from 'node:path';
import { freePort, startBroker, tempDir } from './process.js';

/** A redis-server started for one test file on a free 127.0.0.1 port, in a temp dir. */
export async function startRedis(): Promise<{ port: number; stop(): Promise<void> }> {
  const tmp = tempDir('graylane-redis-');
  const port = await freePort();
  const broker = await startBroker(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      tmp.dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { port, timeoutMs: 15_000, log: join(tmp.dir, 'redis.log') },
  );
  return {
    port,
    async stop() {
      await broker.stop();
      tmp.remove();
    },
  };
}
