import { compileOutbound, type OutboundOptions } from './options.js';
import { planInjection } from './plan.js';

/** The part of an axios request config graylane reads and extends. */
export interface AxiosConfigLike {
  url?: string | undefined;
  baseURL?: string | undefined;
  headers?: unknown;
}

/** The part of an axios instance graylane uses (axios ≥ 1). */
export interface AxiosLike {
  readonly interceptors: {
    readonly request: {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- axios' own config type is not imported
      use(onFulfilled: (config: any) => any): number;
      eject(id: number): void;
    };
  };
  getUri?(config?: unknown): string;
}

interface HeaderBag {
  has?(name: string): boolean;
  get?(name: string): unknown;
  set?(name: string, value: string): unknown;
  [name: string]: unknown;
}

/**
 * Adds a request interceptor to an axios instance that carries the current request's marker to
 * allowlisted hosts; returns the eject function. A header the caller set is kept, and with
 * `installGlobal()` active too the header is still sent once (OUT-04).
 *
 * @example
 * ```ts
 * const api = axios.create({ baseURL: 'http://orders.internal' });
 * const eject = attachGray(api, { allowHosts: ['orders.internal'] });
 * ```
 */
export function attachGray(instance: AxiosLike, options?: OutboundOptions): () => void {
  const allow = compileOutbound(options);
  const id = instance.interceptors.request.use(function graylaneAxiosInterceptor(
    config: AxiosConfigLike,
  ) {
    try {
      inject(instance, config, allow);
    } catch {
      // I1: the request proceeds untouched.
    }
    return config;
  });
  return function graylaneEject(): void {
    instance.interceptors.request.eject(id);
  };
}

function inject(
  instance: AxiosLike,
  config: AxiosConfigLike,
  allow: ReturnType<typeof compileOutbound>,
): void {
  const headers = (config.headers ??= {}) as HeaderBag;
  const plan = planInjection(targetUrl(instance, config), access(headers), allow);
  if (!plan) return;
  write(headers, plan.header, plan.version);
  if (plan.baggage !== undefined) write(headers, 'baggage', plan.baggage);
}

function targetUrl(instance: AxiosLike, config: AxiosConfigLike): string | undefined {
  try {
    if (typeof instance.getUri === 'function') return instance.getUri(config);
    return new URL(config.url ?? '', config.baseURL).href;
  } catch {
    return undefined;
  }
}

/** AxiosHeaders (case-insensitive `has`/`get`) or a plain object (scanned case-insensitively). */
function access(headers: HeaderBag): {
  has(name: string): boolean;
  get(name: string): string | undefined;
} {
  const read = (name: string): unknown => {
    if (typeof headers.get === 'function') return headers.get(name);
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
    return undefined;
  };
  return {
    has: (name) => {
      const v = read(name);
      return v !== undefined && v !== null && v !== false;
    },
    get: (name) => {
      const v = read(name);
      return typeof v === 'string' ? v : undefined;
    },
  };
}

function write(headers: HeaderBag, name: string, value: string): void {
  if (typeof headers.set === 'function') {
    headers.set(name, value);
    return;
  }
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) delete headers[key];
  headers[name] = value;
}
