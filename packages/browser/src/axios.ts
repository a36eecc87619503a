import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { GrayClient } from './client.js';
import { clientOr } from './current.js';
import { REPLAYABLE } from './with-gray.js';

/** Options of {@link attachGray}. */
export interface AttachGrayOptions {
  /** The client whose version is sent. Default: the one `initGray` created last. */
  readonly client?: GrayClient | undefined;
}

/** The part of an axios instance graylane uses (so axios stays a type-only, optional peer). */
export type AxiosInstanceLike = Pick<AxiosInstance, 'interceptors' | 'getUri' | 'request'>;

/** What graylane did to one request (a string key: axios keeps it when a config is re-sent). */
interface Sent {
  readonly url: string;
  readonly header: string;
  /** GET, HEAD, OPTIONS, PUT or DELETE: may be re-sent plain. */
  readonly replay: boolean;
  /** The caller's `fetchOptions`, before graylane asked the fetch adapter for `manual`. */
  readonly fetchOptions: InternalAxiosRequestConfig['fetchOptions'];
}
const SENT = 'graylaneSent';
/** Set on graylane's plain re-send, so the marker is not added again. */
const PLAIN = 'graylanePlain';

type Config = InternalAxiosRequestConfig & { [SENT]?: Sent | undefined; [PLAIN]?: boolean };

/**
 * Adds request/response interceptors to an axios instance: allowed requests carry the marker
 * header (a header the caller set is kept, so with `installXHR`/`installFetch` also active it is
 * still sent once); a response never changes the page's version (one page view, one version).
 * Returns the eject function.
 *
 * Redirects and CORS (RDR-01/03, CORS-02): a marked GET, HEAD, OPTIONS, PUT or DELETE that fails
 * at the network level (a CORS preflight that rejects the header, at the origin or after a
 * redirect) is sent again once through the instance without the marker. With
 * `adapter: 'fetch'` such a request is sent with `redirect: 'manual'` and re-sent plain when the
 * server redirects, so no later hop sees the header. POST and PATCH are never repeated.
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
  const request = instance.interceptors.request.use(function grayRequest(config: Config) {
    const client = clientOr(options.client);
    try {
      const url = instance.getUri(config);
      const value = config[PLAIN] ? undefined : client?.markerFor(url);
      if (client && value !== undefined && !config.headers.has(client.header)) {
        // `config` and its AxiosHeaders are axios's per-request merge, not the caller's object.
        config.headers.set(client.header, value);
        const replay = REPLAYABLE.test(config.method ?? 'get');
        config[SENT] = { url, header: client.header, replay, fetchOptions: config.fetchOptions };
        const fetchOptions = config.fetchOptions as RequestInit | undefined;
        if (
          replay &&
          config.adapter === 'fetch' &&
          (fetchOptions?.redirect ?? 'follow') == 'follow'
        )
          config.fetchOptions = { ...fetchOptions, redirect: 'manual' };
      }
    } catch {
      // Never fail the caller's request because of the marker (I1).
    }
    return config;
  });

  /** The caller's request as written: no marker, the caller's fetch options. */
  const plain = (config: Config, sent: Sent): Promise<AxiosResponse> => {
    config.headers.delete(sent.header);
    return instance.request({
      ...config,
      fetchOptions: sent.fetchOptions,
      [SENT]: undefined,
      [PLAIN]: true,
    } as Config);
  };

  const response = instance.interceptors.response.use(
    function grayResponse(res: AxiosResponse) {
      const config = res.config as Config;
      const sent = config[SENT];
      // An opaque redirect (status 0) from the fetch adapter's `manual`: re-send it plain.
      return sent?.replay && res.status === 0 ? plain(config, sent) : res;
    },
    function grayError(error: AxiosError) {
      const config = error?.config as Config | undefined;
      const sent = config?.[SENT];
      // A network failure of a marked request (not a cancel or a timeout: those are the caller's).
      if (config && sent?.replay && error.code === 'ERR_NETWORK') return plain(config, sent);
      return Promise.reject(error);
    },
  );
  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
  };
}
