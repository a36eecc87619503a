import type { Slot } from './jar.js';

/**
 * @internal The anonymous id a split is bucketed on: read from its cookie, or 128 random bits
 * (`crypto.getRandomValues` works outside secure contexts, unlike `randomUUID`) written back.
 */
export function anonymousId(slot: Slot): string {
  // No id (`undefined`, tested as the text "undefined") fails the pattern like a malformed one.
  let id = slot.read() as string;
  if (!/^[0-9a-f]{32}$/.test(id)) {
    id = '';
    for (const b of crypto.getRandomValues(new Uint8Array(16)))
      id += (b | 256).toString(16).slice(1);
    slot.write(id);
  }
  return id;
}
