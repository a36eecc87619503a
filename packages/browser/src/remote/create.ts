import {
  createBackoff,
  createConfigStore,
  createStatusTracker,
  parseConfig,
  systemClock,
  type ConfigStore,
  type Decision,
  type GrayConfig,
  type RegexEngine,
  type SourceStatus,
} from '@graylane/core';
import type { GrayClient } from '../client.js';
import { hasPage } from '../env.js';
import { fail, type GrayRules } from '../options.js';
import { rulesFromConfig, type RulesFromConfigOptions } from '../rules.js';
import { pageBootstrap, readCache, writeCache, type Cached } from './bootstrap.js';
import { fetchRules, type RulesFetch } from './fetch-rules.js';
import {
  detachOnChoice,
  readStamp,
  saltOf,
  verdict,
  writeStamp,
  type RerollEvent,
} from './sticky.js';

/** Options of {@link createRemoteRules}. Only `url` is required. */
export interface RemoteRulesOptions {
  /** The endpoint serving the rule document (JSON), same origin or CORS-enabled. */
  readonly url: string | URL;
  /** An embedded default document: the floor when nothing else is known. Validated here. */
  readonly initial?: unknown;
  /**
   * The document the server rendered for this page. Default: the text of
   * `<script type="application/json" id="graylane-rules" data-etag="…">`.
   */
  readonly bootstrap?: unknown;
  /** Needed when the rules use `regex` matchers: `re2Engine` from `@graylane/browser/regex`. */
  readonly regex?: RegexEngine | undefined;
  /** Revalidation period while the page stays open. Default 5 min; `0`: once, at `start`. */
  readonly refreshMs?: number;
  /** Retries of a failed revalidation (1 s, 2 s, 4 s … ±20 %). Default 3. */
  readonly retries?: number;
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  /** `localStorage` key of the last good document and the sticky stamp. `false`: remember nothing. */
  readonly storageKey?: string | false;
  /** Extra request headers, e.g. an API key. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Default: `globalThis.fetch`, looked up at each request. */
  readonly fetch?: RulesFetch | undefined;
  /** Caller attributes such as `userId` for `attrs` conditions, read at each evaluation. */
  readonly attributes?: RulesFromConfigOptions['attributes'];
  /** A new document passed validation and replaced the old one (applies from the next page view). */
  readonly onChange?: ((config: GrayConfig) => void) | undefined;
  /** A stored assignment was re-rolled because the policy that made it is gone. */
  readonly onReroll?: ((event: RerollEvent) => void) | undefined;
  readonly onStatus?: ((status: SourceStatus) => void) | undefined;
}

/** Rules from an HTTP endpoint for `initGray`; see {@link createRemoteRules}. */
export interface RemoteRules {
  /** Pass as `initGray({ rules })`. Evaluates the document in force; `undefined` before any. */
  readonly rules: GrayRules;
  /** Applies the sticky policy to `client` now, then revalidates in the background. Returns stop. */
  start(client: GrayClient): () => void;
  /** Revalidates now (single flight). Never rejects. */
  refresh(): Promise<void>;
  /** The document in force, if any. */
  config(): GrayConfig | undefined;
  /** `starting` until the endpoint answered once; `stale` when serving the last good document. */
  status(): SourceStatus;
}

/**
 * Browser rules that change without a redeploy. The first paint needs no request: the document
 * comes from the page (`bootstrap`), else the last good one of an earlier page view
 * (`localStorage`), else `initial`. `start` then revalidates with `If-None-Match`
 * (stale-while-revalidate); a new document is validated before it replaces the old one, a bad or
 * missing one keeps the last good (I5), an identical one changes nothing (I6). Failures retry a
 * bounded number of times; 401/403 stop until the next page view.
 *
 * Sticky (STK-03): a version the rules gave a visitor is stored and kept across rules changes —
 * a lowered weight, new rules in front — while the rule that gave it still exists with the same
 * bucket salt and can still give that version; otherwise `start` re-rolls it and `onReroll` says
 * why. A new document never changes the version of the page already showing; QA choices
 * (`setGrayVersion`, a persisted override) and server hand-offs are never re-rolled, in whatever
 * order they come: a choice detaches the version from the rule that gave it.
 *
 * @example
 * ```ts
 * import { initGray } from '@graylane/browser';
 * import { createRemoteRules } from '@graylane/browser/remote';
 *
 * const remote = createRemoteRules({ url: '/graylane/rules.json' });
 * const gray = initGray({ versions: ['stable', 'beta'], default: 'stable', rules: remote.rules });
 * remote.start(gray);
 * ```
 */
export function createRemoteRules(options: RemoteRulesOptions): RemoteRules {
  if (!options?.url) fail('createRemoteRules url'); // not a fetch of "undefined"
  const url = String(options.url);
  const key = options.storageKey ?? 'graylane:rules';
  const stampKey = key && `${key}:assignment`;
  const regex = options.regex;
  const status = createStatusTracker(systemClock, options.onStatus);
  const tryParse = (doc: unknown): GrayConfig | undefined => {
    try {
      return parseConfig(doc, { regex });
    } catch {
      return undefined; // Bad input from the page or a cache is ignored, never thrown (I1).
    }
  };
  // A mistake in code (the embedded default) throws here, at construction.
  if (options.initial !== undefined) parseConfig(options.initial, { regex });
  const sources: Array<Cached | undefined> = [
    options.bootstrap !== undefined ? { doc: options.bootstrap } : pageBootstrap(),
    readCache(key),
    options.initial !== undefined ? { doc: options.initial } : undefined,
  ];
  let store: ConfigStore | undefined;
  let etag: string | undefined;
  for (const source of sources) {
    const config = source && tryParse(source.doc);
    if (!config) continue;
    store = createConfigStore({ initial: config, source: 'bootstrap', regex });
    etag = source.etag;
    writeCache(key, config.canonical, etag);
    break;
  }

  let evaluated: { version: number; rules: GrayRules } | undefined;
  const rules: GrayRules = (context) => {
    const snapshot = store?.get();
    if (!snapshot) return undefined;
    if (evaluated?.version !== snapshot.version)
      evaluated = {
        version: snapshot.version,
        rules: rulesFromConfig(snapshot.config, { attributes: options.attributes }),
      };
    const d = evaluated.rules(context) as Decision | undefined;
    // Remember which policy gave a stored (non-default) version, for the sticky check.
    if (stampKey)
      writeStamp(
        stampKey,
        d?.ruleId !== undefined && d.version !== context.defaultVersion
          ? { version: d.version, ruleId: d.ruleId, salt: saltOf(snapshot.config, d.ruleId) }
          : undefined,
      );
    return d;
  };

  let started = false;
  let stopped = false;
  let fatal = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let detach: (() => void) | undefined;
  let inflight: Promise<void> | undefined;
  const retries = options.retries ?? 3;
  const refreshMs = options.refreshMs ?? 300_000;

  const accept = (text: string, tag: string | undefined): void => {
    const config = tryParse(text);
    // Validate, then swap; a bad document keeps the last good one and is not retried (I5).
    if (!config) return status.failed('document rejected: invalid');
    const changed = store
      ? store.update(config, { source: 'http' }).status === 'changed'
      : Boolean((store = createConfigStore({ initial: config, source: 'http', regex })));
    etag = tag;
    writeCache(key, config.canonical, etag);
    status.succeeded();
    if (changed) safely(() => options.onChange?.(config));
  };

  const run = async (): Promise<void> => {
    const backoff = createBackoff({ maxMs: 30_000 });
    for (let attempt = 0; !stopped && !fatal; attempt++) {
      const call = options.fetch ?? (globalThis.fetch as RulesFetch);
      const answer = await fetchRules(
        call,
        url,
        etag,
        options.headers ?? {},
        options.timeoutMs ?? 10_000,
      );
      if (stopped) return;
      if (answer.kind === 'unchanged') return status.succeeded();
      if (answer.kind === 'document') return accept(answer.text, answer.etag);
      if (answer.kind === 'invalid') return status.failed(answer.message);
      if (answer.kind === 'fatal') {
        fatal = true;
        return status.fatal(answer.message);
      }
      status.failed(answer.message);
      if (attempt >= retries) return;
      await new Promise((resolve) => setTimeout(resolve, backoff.next()));
    }
  };

  const refresh = (): Promise<void> => (inflight ??= run().finally(() => (inflight = undefined)));

  const schedule = (): void => {
    if (refreshMs > 0 && !stopped)
      timer = setTimeout(() => void refresh().then(schedule), refreshMs);
  };

  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
    detach?.();
    status.stopped();
  };

  return {
    rules,
    start(client) {
      if (started || !hasPage()) return stop;
      started = true;
      const stamp = stampKey ? readStamp(stampKey) : undefined;
      const config = store?.get().config;
      const from = client.getGrayVersion();
      const why =
        config && stamp && stamp.version === from && client.getGrayReason() === 'cookie'
          ? verdict(config, stamp)
          : undefined;
      if (why) {
        client.clearGrayVersion();
        const event = {
          from,
          to: client.getGrayVersion(),
          reason: why,
          ruleId: stamp?.ruleId ?? '',
        };
        safely(() => options.onReroll?.(event));
      }
      // From now on a QA choice, whatever its version, takes the version out of the policy.
      if (stampKey) detach = detachOnChoice(client, stampKey);
      void refresh().then(schedule);
      return stop;
    },
    refresh,
    config: () => store?.get().config,
    status: () => status.get(),
  };
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A listener's bug never breaks the rules or the page.
  }
}
