import { EventEmitter } from 'node:events';
import { createConfigStore, type ConfigEvent, type ConfigStore } from '@graylane/core';
import type {
  EtcdClientLike,
  EtcdRangeResponseLike,
  EtcdWatcherLike,
  EtcdWatchResponseLike,
} from '../src/index.js';

/** A valid config whose default is `version`. */
export function doc(version: 'stable' | 'beta', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ versions: ['stable', 'beta'], default: version, ...extra });
}

/** A store starting on the embedded default, with its events recorded. */
export function recordingStore(): { store: ConfigStore; events: ConfigEvent[] } {
  const store = createConfigStore({ initial: doc('stable', { rules: [] }) });
  const events: ConfigEvent[] = [];
  store.subscribe((e) => events.push(e));
  return { store, events };
}

/** Collects log lines instead of printing them. */
export function quietLogger(): {
  warn: (m: string) => void;
  error: (m: string) => void;
  lines: string[];
} {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** A watcher fake that tests drive by emitting events. */
export class FakeWatcher extends EventEmitter implements EtcdWatcherLike {
  cancelled = false;
  cancel(): Promise<void> {
    this.cancelled = true;
    return Promise.resolve();
  }
  push(res: EtcdWatchResponseLike): void {
    this.emit('data', res);
  }
}

/** An etcd client fake: `get` runs `onGet`, watches are recorded. */
export function fakeClient(onGet: () => Promise<EtcdRangeResponseLike>): EtcdClientLike & {
  watchers: FakeWatcher[];
  gets: number;
} {
  const client = {
    watchers: [] as FakeWatcher[],
    gets: 0,
    get: () => ({
      exec: () => {
        client.gets++;
        return onGet();
      },
    }),
    watch() {
      const builder = {
        key: () => builder,
        startRevision: () => builder,
        create: () => {
          const w = new FakeWatcher();
          client.watchers.push(w);
          return Promise.resolve(w);
        },
      };
      return builder;
    },
    close: () => undefined,
  };
  return client;
}

/** A range response holding `value` at `revision`. */
export function range(value: string | undefined, revision: number): EtcdRangeResponseLike {
  const kvs =
    value === undefined
      ? []
      : [{ key: Buffer.from('k'), value: Buffer.from(value), mod_revision: String(revision) }];
  return { header: { revision: String(revision) }, kvs };
}

/** A watch response with one put (or delete) at `revision`. */
export function put(value: string | undefined, revision: number): EtcdWatchResponseLike {
  return {
    header: { revision: String(revision) },
    events: [
      {
        type: value === undefined ? 'Delete' : 'Put',
        kv: {
          key: Buffer.from('k'),
          value: Buffer.from(value ?? ''),
          mod_revision: String(revision),
        },
      },
    ],
  };
}

/** Polls until `check()` is true or fails after `ms`. */
export async function waitFor(check: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
