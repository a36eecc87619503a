import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A fixture service running in its own `node` child process on 127.0.0.1. */
export interface Service {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/**
 * Spawns `fixtures/<script>` and resolves once it prints `{"ready":…,"port":…}` on stdout.
 * sdk-node patches modules process-wide, so every topology runs outside the test runner.
 */
export function startService(script: string, env: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [FIXTURES + script], {
    env: {
      ...process.env,
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_TRACES_EXPORTER: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => fail(new Error(`${script} did not start in time\n${stderr}`)),
      20_000,
    );
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', (code) => fail(new Error(`${script} exited with ${code}\n${stderr}`)));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const { port } = JSON.parse(line) as { port: number };
      resolve({
        url: env.HOST === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`,
        child,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 2_000).unref();
          }),
      });
    });
  });
}

/** Starts the services in order (downstream first), wiring each one's NEXT to the previous. */
export async function startChain(
  specs: ReadonlyArray<{ script: string; service?: Record<string, unknown> }>,
): Promise<Service[]> {
  const started: Service[] = [];
  let next: string | undefined;
  for (const spec of [...specs].reverse()) {
    const service = { ...spec.service, ...(next ? { next } : {}) };
    const env: Record<string, string> = {
      SERVICE: JSON.stringify(service),
      ...(next ? { NEXT: next } : {}),
    };
    const s = await startService(spec.script, env);
    started.unshift(s);
    next = s.url;
  }
  return started;
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
