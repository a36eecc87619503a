import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { GrayClient } from './client.js';
import { warnPreflight } from './cors-warning.js';
import { clientOr } from './current.js';

/** Options of {@link attachGray}. */
export interface AttachGrayOptions {
  /** The client whose version is sent. Default: the one `initGray` created last. */
  readonly client?: GrayClient | undefined;
}

/** The part of an axios instance graylane uses (so axios stays a type-only, optional peer). */
export type AxiosInstanceLike = Pick<AxiosInstance, 'interceptors' | 'getUri'>;

const SENT = Symbol('graylane.sent');

/**
 * Adds request/response interceptors to an axios instance: allowed requests carry the marker
 * header (a header the caller set is kept, so with `installXHR`/`installFetch` also active it is
 * still sent once), allowed responses may assign a version. Returns the eject function.
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
  const request = instance.interceptors.request.use(function grayRequest(
    config: InternalAxiosRequestConfig,
  ) {
    const client = clientOr(options.client);
    try {
      const url = instance.getUri(config);
      const value = client?.markerFor(url);
      if (client && value !== undefined && !config.headers.has(client.header)) {
        // `config` and its AxiosHeaders are axios's per-request merge, not the caller's object.
        config.headers.set(client.header, value);
        Object.assign(config, { [SENT]: url });
      }
    } catch {
      // Never fail the caller's request because of the marker (I1).
    }
    return config;
  });
  const response = instance.interceptors.response.use(
    function grayResponse(res: AxiosResponse) {
      const client = clientOr(options.client);
      try {
        client?.readResponse(
          instance.getUri(res.config),
          res.headers as { get(n: string): unknown },
        );
      } catch {
        // Response headers are advisory.
      }
      return res;
    },
    function grayError(error: AxiosError) {
      const client = clientOr(options.client);
      const url = (error?.config as Record<symbol, unknown> | undefined)?.[SENT];
      if (client && typeof url === 'string' && error.response === undefined)
        warnPreflight(client, url, error);
      return Promise.reject(error);
    },
  );
  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
  };
}
