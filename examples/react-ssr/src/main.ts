/** `npm start`: serves the built site on 127.0.0.1 (PORT, default 4200) until Ctrl-C. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSite } from './server.js';

const dist = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  if (!existsSync(join(dist, 'web', 'stable', 'index.html'))) {
    console.error('[react-ssr] not built: run `npm run build -w @graylane/example-react-ssr`');
    process.exitCode = 1;
    return;
  }
  const site = await startSite({ dist, port: Number(process.env['PORT'] ?? 4200) });
  console.log(`graylane React SSR example on ${site.url}/ (Ctrl-C to stop)`);
  console.log('  try ?gray=beta, or the "use beta" button (it persists the lane and reloads)');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await site.close();
}

main().catch((err: unknown) => {
  console.error(`[react-ssr] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
