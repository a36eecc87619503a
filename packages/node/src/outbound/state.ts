import { AsyncLocalStorage } from 'node:async_hooks';
import type { Allowlist } from '@graylane/core';
import type { HopPlan } from './plan.js';

/** What `installGlobal()` left in place while it is active. */
export interface GlobalInstall {
  readonly allow: Allowlist | undefined;
  /** Whether undici requests (global fetch, npm undici) are covered. */
  readonly undici: boolean;
  readonly uninstall: () => void;
}

/** @internal Process-wide outbound state (issue 15: one copy whatever mix of ESM/CJS entries loads). */
export interface OutboundState {
  /** The `undici:request:create` listener is subscribed (at most once per process). */
  guard: boolean;
  /** Plans of wrapper-level calls in flight, read by that listener (see hop-guard.ts). */
  notes: AsyncLocalStorage<HopPlan> | undefined;
  install: GlobalInstall | undefined;
}

const KEY = Symbol.for('@graylane/node.outbound.v1');

/** @internal The one outbound state of this process, created on first use (never on import). */
export function outboundState(): OutboundState {
  const g = globalThis as { [KEY]?: OutboundState };
  return (g[KEY] ??= { guard: false, notes: undefined, install: undefined });
}

/** @internal Runs `fn` with `plan` visible to the undici listener for every request it creates. */
export function runNoted<T>(plan: HopPlan, fn: () => T): T {
  const state = outboundState();
  state.notes ??= new AsyncLocalStorage<HopPlan>();
  return state.notes.run(plan, fn);
}

/** @internal The plan of the wrapper-level call whose async context this is, if any. */
export function currentNote(): HopPlan | undefined {
  return outboundState().notes?.getStore();
}
