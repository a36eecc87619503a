import type { Hold } from './current.js';
import type { Slot } from './jar.js';

/**
 * @internal The anonymous id a split is bucketed on: read from its cookie, else 128 random bits
 * (`crypto.getRandomValues` works outside secure contexts, unlike `randomUUID`) — used only when
 * the jar keeps them (`slot.write` read them back). An id the jar cannot keep (cookies off,
 * refused, dropped, `cookie: false`, a sandboxed frame) would be a new one, so a new bucket, on
 * every page view: then it is `''`, which no split buckets on (WT-05), and the visitor gets what
 * needs no id, usually the default, on every page view alike.
 */
export function anonymousId(slot: Slot): string {
  // No id (`undefined`, tested as the text "undefined") fails the pattern like a malformed one.
  let id = slot.read() as string;
  if (!/^[0-9a-f]{32}$/.test(id)) {
    id = '';
    for (const b of crypto.getRandomValues(new Uint8Array(16)))
      id += (b | 256).toString(16).slice(1);
    if (!slot.write(id)) id = '';
  }
  return id;
}

/**
 * @internal The anonymous id's slot as `initGray` uses it: `write` tells whether the jar keeps
 * the id, at once, while writing waits for `run` like every effect. Under React's hold (nothing
 * may stay behind from a render React throws away, nothing there be lost) the id is written,
 * read back and removed now when no cookie of the name is there, and written when React commits.
 */
export function heldIds(ids: Slot, run: Hold): Slot {
  return {
    ...ids,
    write(id) {
      let now = false;
      run(() => (now = true));
      if (now) return ids.keep(id);
      // Held (a render React may throw away): nothing written now may stay, nor anything there
      // be lost. A cookie of the name is there already (not an id of ours: a server's, an older
      // format) — the jar keeps cookies of the name; it is replaced when React commits.
      if (ids.read() === undefined) {
        if (!ids.keep(id)) return false;
        ids.remove();
      }
      run(() => ids.keep(id));
      return true;
    },
  };
}
