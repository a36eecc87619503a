import { isGraylaneError } from '@graylane/core';
import { afterAll } from 'vitest';
import { createMessageLanes } from '../../dist/index.js';
import { CONFIG } from '../helpers.js';

/** The open-mode lanes the MQ-23 and MQ-24 rows route with. */
export const lanes = createMessageLanes({ config: CONFIG });

/** What `fn` did: the error code and message it threw or rejected with, or `resolved`. */
export async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'resolved';
  } catch (err) {
    return isGraylaneError(err) ? `${err.code}: ${err.message}` : `${String(err)}`;
  }
}

/** Made once, on first use, for the rows that need it. */
export function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

const closers: (() => Promise<unknown>)[] = [];

/** Closes `close` after the file's rows (last added, first closed), before the brokers stop. */
export function closeLater(close: () => Promise<unknown>): void {
  closers.unshift(close);
}

/** Registers the closing; call it after the brokers' own afterAll (after hooks run as a stack). */
export function closeAfterAll(): void {
  afterAll(async () => {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
  }, 60_000);
}
