import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts an OTel fixture service in a child process (sdk-node must patch `http` before it is
 * required, so it cannot share the test's process) and waits, at most 20 s, for its `PORT n` line.
 */
export async function startOtelChild(
  fixture: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env, OTEL_SDK_DISABLED: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${err}`)), 20_000);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`service exited ${code}: ${err}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
