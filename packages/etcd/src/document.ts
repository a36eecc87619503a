import { isUtf8 } from 'node:buffer';
import type { Etcd3 } from 'etcd3';
import { GraylaneError } from '@graylane/core';
import { createEtcd3, type EtcdClientOptions } from './client.js';

/** An etcd key's value and the revisions it was read at. */
export interface EtcdDocument {
  /** The value as UTF-8, `undefined` when the key does not exist. */
  readonly value: string | undefined;
  /**
   * False when the stored bytes are not valid UTF-8 (`value` then holds U+FFFD in their place,
   * for display only): such a value is not a JSON document and must not be applied or pushed.
   */
  readonly utf8: boolean;
  /** The key's `mod_revision` (decimal); `"0"` when it does not exist, as etcd compares it. */
  readonly modRevision: string;
  /** The store revision of the read (decimal). */
  readonly revision: string;
}

/** The outcome of {@link EtcdDocumentClient.compareAndPut}. */
export type CompareAndPutResult =
  | { readonly written: true; readonly modRevision: string }
  /** Someone wrote the key after the expected revision: nothing was written. */
  | { readonly written: false; readonly current: EtcdDocument };

/** Reads and writes one key's document, with compare-and-swap on its revision. */
export interface EtcdDocumentClient {
  readonly key: string;
  read(): Promise<EtcdDocument>;
  /**
   * Puts `value` only if the key's `mod_revision` is still `expectModRevision` (`"0"`: only if it
   * does not exist), in one etcd transaction, so two writers that read the same revision can never
   * both succeed.
   */
  compareAndPut(value: string, expectModRevision: string): Promise<CompareAndPutResult>;
  close(): void;
}

/** Options of {@link createEtcdDocumentClient}: the client options plus the key. */
export interface EtcdDocumentOptions extends EtcdClientOptions {
  readonly key: string;
}

/**
 * A client for one etcd key holding a config document, on the same client options (hosts, TLS,
 * auth, deadlines) as the rule source. Used by `graylane push` to write with compare-and-swap.
 *
 * @example
 * ```ts
 * const doc = createEtcdDocumentClient({ hosts: 'http://127.0.0.1:2379', key: 'graylane/config' });
 * const current = await doc.read();
 * const result = await doc.compareAndPut(nextText, current.modRevision);
 * if (!result.written) console.error(`changed meanwhile (revision ${result.current.modRevision})`);
 * doc.close();
 * ```
 */
export function createEtcdDocumentClient(options: EtcdDocumentOptions): EtcdDocumentClient {
  if (typeof options?.key !== 'string')
    throw new GraylaneError('INVALID_OPTIONS', 'createEtcdDocumentClient: key is required');
  const client = createEtcd3(options);
  const { key } = options;
  return {
    key,
    read: () => readDocument(client, key),
    async compareAndPut(value, expectModRevision) {
      if (!/^\d+$/.test(expectModRevision))
        throw new RangeError(
          `expected revision must be a decimal number, got ${expectModRevision}`,
        );
      const res = await client
        .if(key, 'Mod', '==', expectModRevision)
        .then(client.put(key).value(value))
        .commit();
      if (res.succeeded) return { written: true, modRevision: String(res.header.revision) };
      return { written: false, current: await readDocument(client, key) };
    },
    close: () => client.close(),
  };
}

async function readDocument(client: Etcd3, key: string): Promise<EtcdDocument> {
  const res = await client.get(key).exec();
  const kv = res.kvs[0];
  return {
    value: kv ? Buffer.from(kv.value).toString('utf8') : undefined,
    utf8: kv ? isUtf8(kv.value) : true,
    modRevision: kv ? String(kv.mod_revision) : '0',
    revision: String(res.header.revision),
  };
}
