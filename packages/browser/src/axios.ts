import type { GrayClient } from './client.js';
import { clientOr } from './current.js';
import { fail } from './options.js';
import { PLAIN, plainNextXhr } from './plain.js';
import { REPLAYABLE } from './with-gray.js';

// axios' types, declared here as graylane uses them rather than imported: axios is an optional
// peer, so a project without it type-checks `@graylane/browser` (and `/standalone`, `/axios`)
// with `skipLibCheck: false`, and a real axios instance (1.0 to the latest 1.x) still passes.

/** Options of {@link attachGray}. */
export interface AttachGrayOptions {
  /** The client whose version is sent. Default: the one `initGray` created last. */
  readonly client?: GrayClient | undefined;
}

/**
 * An axios interceptor manager, structurally (`instance.interceptors.request` / `.response`).
 * The callbacks are typed loosely: each axios version types its config and response its own way.
 */
export interface AxiosInterceptorManagerLike {
  use(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios' own config/response types are not imported
    onFulfilled?: ((value: any) => any) | null,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios types its errors `any`
    onRejected?: ((error: any) => any) | null,
  ): number;
  eject(id: number): void;
}

/** The part of an axios request config graylane hands back to the instance (`getUri`, `request`). */
export interface AxiosRequestConfigLike {
  readonly url?: string | undefined;
  readonly baseURL?: string | undefined;
  readonly allowAbsoluteUrls?: boolean | undefined;
}

/** The part of an axios instance graylane uses (axios ≥ 1; `axios` itself or `axios.create()`). */
export interface AxiosInstanceLike {
  readonly interceptors: {
    readonly request: AxiosInterceptorManagerLike;
    readonly response: AxiosInterceptorManagerLike;
  };
  getUri(config?: AxiosRequestConfigLike): string;
  request(config: AxiosRequestConfigLike): Promise<unknown>;
}

/** An `AxiosHeaders` (what axios ≥ 1 gives interceptors and transforms), as graylane uses it. */
interface HeadersLike {
  has(name: string): boolean;
  set(name: string, value: string): unknown;
  delete(name: string): unknown;
}

/** A config as axios hands it to interceptors and `transformRequest` (`InternalAxiosRequestConfig`). */
interface RequestConfig extends AxiosRequestConfigLike {
  headers: HeadersLike;
  method?: string | undefined;
  adapter?: unknown;
  transformRequest?: unknown;
  fetchOptions?: unknown;
}

/** An axios response, as graylane reads it. */
interface ResponseLike {
  readonly status: number;
  readonly config?: unknown;
}

/** An axios error, as graylane reads it. */
interface ErrorLike {
  readonly code?: string | undefined;
  readonly config?: unknown;
}

/**
 * A marked GET, HEAD or OPTIONS, which may be re-sent plain (a string key: axios
 * keeps it when a config is re-sent).
 */
interface Sent {
  readonly header: string;
  /** The caller's `fetchOptions`, before graylane asked the fetch adapter for `manual`. */
  readonly fetchOptions: RequestInit | undefined;
}
/** `null` on graylane's plain re-send, so the marker is not added again. */
const SENT = 'graylaneSent';

type Config = RequestConfig & { [SENT]?: Sent | null | undefined };

/**
 * Adds request/response interceptors to an axios instance: allowed requests carry the marker
 * header (a header the caller set is kept, so with `installXHR`/`installFetch` also active it is
 * still sent once); a response never changes the page's version (one page view, one version).
 * Returns the eject function. The target is judged on the final request, after every request
 * interceptor whenever it was registered (CTX-14).
 *
 * Redirects and CORS (RDR-01/03, CORS-02): a marked GET, HEAD or OPTIONS that fails
 * at the network level (a CORS preflight that rejects the header, at the origin or after a
 * redirect) is sent again once through the instance without the marker. On the fetch adapter
 * (`'fetch'`, `['fetch', 'xhr']`, an adapter function that calls it) such a request is sent with
 * `redirect: 'manual'` and re-sent plain when the server redirects, so no later hop sees the
 * header. A write (POST, PUT, DELETE, PATCH) is never repeated: the server may have acted on it.
 * A request with `fetchOptions: { mode: 'no-cors' }` is left alone, whatever the adapter: sent
 * once, as written (the browser would drop the header there).
 *
 * @example
 * ```ts
 * import axios from 'axios';
 * import { attachGray } from '@graylane/browser/axios';
 * const api = axios.create({ baseURL: '/api' });
 * const detach = attachGray(api);
 * ```
 */
export function attachGray(
  instance: AxiosInstanceLike,
  options: AttachGrayOptions = {},
): () => void {
  if (typeof instance?.interceptors?.request?.use != 'function')
    fail('attachGray: not an axios instance');
  // CTX-14: the decision is made on the final request. axios runs request interceptors
  // registered earlier *after* this one (its default order), and any of them may change `url`,
  // `baseURL` or `params`; so the interceptor only appends this step to the request's
  // `transformRequest`, which axios runs after every interceptor, right before the adapter
  // (`this` is the config the adapter gets).
  // The configs graylane marked, as their adapter gets them (and their response carries them).
  const marked = new WeakSet<object>();
  const transform = function graylaneTransform(this: Config, data: unknown) {
    try {
      const client = clientOr(options?.client); // `null` options: none
      // A config graylane marked, sent again as it is (a retry interceptor, axios-retry: they
      // re-request `error.config`): start from what the caller wrote, then judge it anew.
      const again = this[SENT];
      if (again) {
        this.headers.delete(again.header);
        Object.assign(this, { fetchOptions: again.fetchOptions, [SENT]: undefined });
      }
      // Our plain re-send: `installXHR` under the XHR adapter (which opens its request before the
      // next microtask) and `installFetch` under the fetch adapter (PLAIN on the init) leave it be.
      // Only for axios' XHR adapter: its default (['xhr', 'http', 'fetch']), 'xhr' or a list
      // starting with it. An app's adapter function may open no XHR at once, and the flag would
      // then fall to an unrelated one (its request unmarked): there a hook under it may re-send.
      const a = this.adapter;
      if (this[SENT] === null && typeof a != 'function' && [a ?? 'xhr'].flat()[0] === 'xhr')
        plainNextXhr();
      // The URL the adapter sends to: built from this config's own fields, as the adapters do —
      // getUri merges the instance's defaults back in, and an interceptor may have removed a
      // `baseURL` or `allowAbsoluteUrls` the defaults still hold (I8). Not for a plain re-send.
      const value =
        this[SENT] === null || !client
          ? undefined
          : client.markerFor(
              instance.getUri({
                ...this,
                baseURL: this.baseURL ?? '',
                allowAbsoluteUrls: this.allowAbsoluteUrls ?? true,
              }),
            );
      const fetchOptions = this.fetchOptions as RequestInit | undefined;
      // `no-cors` is left alone, as by withGray: fetch drops the header there, and a marked one
      // would be re-sent plain on its opaque answer (status 0 — a cross-origin response, not only
      // a redirect) or on a network error: sent twice (N2, review 69 D2).
      if (
        client &&
        value !== undefined &&
        !this.headers.has(client.header) &&
        fetchOptions?.mode != 'no-cors'
      ) {
        this.headers.set(client.header, value);
        if (REPLAYABLE.test(this.method ?? 'get')) {
          this[SENT] = { header: client.header, fetchOptions };
          marked.add(this);
          // RDR-01: whatever adapter runs — 'fetch', ['fetch', 'xhr'], a function that calls
          // the fetch adapter — it stops at a redirect; the XHR adapter ignores fetchOptions.
          if ((fetchOptions?.redirect ?? 'follow') == 'follow')
            this.fetchOptions = { ...fetchOptions, redirect: 'manual' };
        }
      }
    } catch {
      // Never fail the caller's request because of the marker (I1).
    }
    return data;
  };
  const request = instance.interceptors.request.use(function grayRequest(config: Config) {
    try {
      const fns = ([] as unknown[]).concat(config.transformRequest ?? []);
      if (!fns.includes(transform)) config.transformRequest = [...fns, transform] as never;
    } catch {
      // I1: the request proceeds untouched.
    }
    return config;
  });

  /** The caller's request as written: no marker, the caller's fetch options. */
  const plain = (config: Config, sent: Sent): Promise<unknown> => {
    config.headers.delete(sent.header);
    return instance.request({
      ...config,
      fetchOptions: { ...sent.fetchOptions, [PLAIN]: true },
      [SENT]: null,
    } as unknown as Config);
  };

  const response = instance.interceptors.response.use(
    function grayResponse(res: ResponseLike) {
      // A response interceptor the app registered earlier runs first and may have unwrapped the
      // response (`r => r.data`): then there is no config to read, and nothing of graylane's.
      const config = (res as Partial<ResponseLike> | null | undefined)?.config as
        Config | undefined;
      // Only a config graylane marked (the unwrapped data of a response may hold a `config`).
      const sent = marked.has(config as object) ? config?.[SENT] : undefined;
      // An opaque redirect (status 0) from the fetch adapter's `manual`: re-send it plain.
      return sent && res.status === 0 ? plain(config as Config, sent) : res;
    },
    function grayError(error: ErrorLike) {
      const config = error?.config as Config | undefined;
      const sent = config?.[SENT];
      // A network failure of a marked request (not a cancel or a timeout: those are the caller's).
      if (sent && error.code === 'ERR_NETWORK') return plain(config as Config, sent);
      return Promise.reject(error);
    },
  );
  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
  };
}
