import type { HeaderEditor } from './scrub.js';
import { sameName } from './table.js';

/**
 * An editor over a plain header object (amqplib `properties.headers`, kafkajs `IHeaders`), or
 * undefined when `table` is not one. `encode` turns a value written back into the shape the
 * broker delivered (Kafka: bytes when the replaced header was bytes).
 */
export function objectEditor(
  table: unknown,
  encode: (value: string, previous: unknown) => unknown = (value) => value,
): HeaderEditor | undefined {
  if (typeof table !== 'object' || table === null || Array.isArray(table)) return undefined;
  const record = table as Record<string, unknown>;
  const spellings = (name: string): string[] =>
    Object.keys(record).filter((k) => sameName(k, name));
  return {
    remove(name) {
      for (const k of spellings(name)) delete record[k];
    },
    set(name, value) {
      const names = spellings(name);
      const previous = names.length > 0 ? record[names[0] as string] : undefined;
      for (const k of names) delete record[k];
      record[name] = encode(value, previous);
    },
  };
}

/** Bytes when `previous` was bytes (or a list of them), else text: the shape the broker delivered. */
export function sameShape(value: string, previous: unknown): unknown {
  const bytes = Array.isArray(previous)
    ? previous.some((v) => v instanceof Uint8Array)
    : previous instanceof Uint8Array;
  return bytes ? Buffer.from(value, 'utf8') : value;
}
