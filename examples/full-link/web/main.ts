/**
 * The demo page: shows this browser's version, lets a QA user switch lanes, and calls the API
 * through `withGray(fetch)` and through axios with the graylane interceptor. Both add
 * `X-Gray-Id` for same-origin requests only.
 */
import axios from 'axios';
import { initGray, withGray } from '@graylane/browser';
import { attachGray } from '@graylane/browser/axios';

/** One hop's record as the services and the gateway report it. */
interface Hop {
  readonly hop: string;
  readonly instance: string;
  readonly saw: string | null;
  readonly reason: string | null;
  readonly served: string;
}

/** What one API call showed; also returned to automation (the nginx e2e test). */
export interface CallResult {
  readonly via: 'fetch' | 'axios';
  readonly status: number;
  readonly sent: string;
  readonly hops: readonly Hop[];
}

/** Which front-end build this is: each version's build bakes in its own (esbuild `define`). */
declare const __BUILD__: string;

const GATEWAY_HOP_HEADER = 'x-graylane-gateway-hop';
const API_PATH = '/api/orders/42';

const gray = initGray({
  versions: ['stable', 'beta'],
  default: 'stable',
  // The gateway serves this version's build and names the version in
  // <meta name="graylane-version">, which initGray starts on; `?gray=beta` is a QA override.
  override: true,
});
const grayFetch = withGray();
const api = axios.create({ timeout: 10_000 });
attachGray(api);

const $ = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el;
};

function showVersion(): void {
  const version = gray.getGrayVersion();
  $('version').textContent = version;
  $('version').dataset.version = version;
  $('reason').textContent = gray.getGrayReason();
  // The build is fixed for this page view; a version that differs means lane fallback (no build
  // for it) or a QA switch that takes effect on the next load.
  $('build').textContent = __BUILD__;
  $('build').dataset.version = __BUILD__;
  $('build-note').textContent =
    version === __BUILD__
      ? ''
      : ` (this page view; the ${version} build, if any, on the next load)`;
}

function parseHops(gatewayHeader: string | null | undefined, body: unknown): Hop[] {
  const hops: Hop[] = [];
  if (gatewayHeader) {
    try {
      hops.push(JSON.parse(gatewayHeader) as Hop);
    } catch {
      // No gateway record (e.g. behind nginx): show the services only.
    }
  }
  const list = (body as { hops?: unknown } | null)?.hops;
  if (Array.isArray(list)) hops.push(...(list as Hop[]));
  return hops;
}

async function callWithFetch(path = API_PATH): Promise<CallResult> {
  const sent = gray.getGrayVersion();
  const res = await grayFetch(path);
  const body: unknown = await res.json().catch(() => null);
  return {
    via: 'fetch',
    status: res.status,
    sent,
    hops: parseHops(res.headers.get(GATEWAY_HOP_HEADER), body),
  };
}

async function callWithAxios(path = API_PATH): Promise<CallResult> {
  const sent = gray.getGrayVersion();
  const res = await api.get<unknown>(path, { validateStatus: () => true });
  const header: unknown = res.headers[GATEWAY_HOP_HEADER];
  return {
    via: 'axios',
    status: res.status,
    sent,
    hops: parseHops(typeof header === 'string' ? header : null, res.data),
  };
}

function render(result: CallResult): void {
  $('status').textContent = `${result.via}: HTTP ${result.status}, sent X-Gray-Id: ${result.sent}`;
  const rows = result.hops.map((h) => {
    const tr = document.createElement('tr');
    const fellBack = h.hop !== 'gateway' && h.served !== h.saw;
    for (const text of [
      h.hop,
      h.saw ?? '(none)',
      h.reason ?? '',
      `${h.instance}${fellBack ? ' (lane fallback)' : ''}`,
    ]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (fellBack) td.className = 'fallback';
      tr.append(td);
    }
    return tr;
  });
  $('hops').replaceChildren(...rows);
}

async function run(call: () => Promise<CallResult>): Promise<void> {
  try {
    render(await call());
  } catch (err) {
    $('status').textContent = `request failed: ${String(err)}`;
  }
  showVersion();
}

gray.subscribe(showVersion);
$('use-stable').addEventListener('click', () => void gray.setGrayVersion('stable'));
$('use-beta').addEventListener('click', () => void gray.setGrayVersion('beta'));
$('clear').addEventListener('click', () => {
  gray.clearGrayVersion();
  location.replace(location.pathname);
});
$('call-fetch').addEventListener('click', () => void run(callWithFetch));
$('call-axios').addEventListener('click', () => void run(callWithAxios));
showVersion();

/** For automation (the nginx + Chromium e2e test) and the console. */
Object.assign(window, {
  graylaneDemo: {
    callWithFetch,
    callWithAxios,
    version: () => gray.getGrayVersion(),
    build: () => __BUILD__,
    reason: () => gray.getGrayReason(),
  },
});
