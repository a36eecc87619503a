import { pair, parse } from '../args.js';
import { instantOption } from '../instant.js';
import { CliError } from '../io.js';
import type { Run } from '../input/run.js';
import { requireConfig } from '../load.js';
import { locationName } from '../location.js';
import { printable, quoted } from '../text.js';
import { renderEnvoy } from './envoy.js';
import { pickSplitRule, type EnvoySplit } from './envoy-split.js';
import { renderNginx } from './nginx.js';
import { FALLBACK_UPSTREAM, cookieNames, upstreamCollisions, type RenderPlan } from './plan.js';

export const renderHelp = `Usage: graylane render nginx|envoy <config> [options]

Prints a routing snippet that sends each request to the upstream of the version its
marker names: the X-Gray-Id header, then the __Host-gray cookie (what the browser SDK
writes on https), the __Secure-gray cookie (https with cookie.domain), then the gray
cookie, else the default version. The upstream always receives the lane it was
routed to (open trust) or the token that chose it (signed trust); a client value that
did not route is never forwarded.

Options:
  --upstream VERSION=HOST:PORT   upstream of a version (repeatable; default: the default's)
  --listen 127.0.0.1:8000        nginx listen address
  --header X-Gray-Id             marker header
  --cookie gray                  cookie base name (__Host-<name> is read first)
  --trust open|signed            open: markers are version labels (default);
                                 signed: markers are signed tokens, routed on their version
  --format yaml|json             envoy output format (default yaml)
  --bucket-header x-gray-bucket  envoy: route requests without a marker by a split rule's
                                 weights (weighted_clusters), picked by this header's
                                 value (graylane's bucket), so Envoy and the app agree
  --rule ID                      envoy: the split rule for --bucket-header (default: the
                                 only split rule)
  --at ISO                       envoy: render the schedule step in force then (default now)
  --assets ROOT                  nginx: serve front-end asset lanes from ROOT/<version>/
                                 (a version without a build gets the default's), with
                                 <meta name="graylane-version"> injected into the HTML`;

/** A host name (dot-separated labels), an IPv4 address or a bracketed IPv6 address. */
const HOST =
  '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\\])';
/** `host[:port]` (`--upstream`; nginx's default port is 80), or a port alone (`--listen`). */
const ADDRESS = new RegExp(`^${HOST}(?::(\\d{1,5}))?$`);

/** True when `text` is `host[:port]` (or a port, with `portAlone`), any port 1–65535. */
function isAddress(text: string, portAlone = false): boolean {
  const port = portAlone && /^\d+$/.test(text) ? text : ADDRESS.exec(text)?.[1];
  if (port === undefined) return ADDRESS.test(text);
  return port.length <= 5 && Number(port) >= 1 && Number(port) <= 65535;
}

export async function render(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      upstream: { type: 'string', multiple: true },
      listen: { type: 'string' },
      header: { type: 'string' },
      cookie: { type: 'string' },
      trust: { type: 'string' },
      format: { type: 'string' },
      assets: { type: 'string' },
      'bucket-header': { type: 'string' },
      rule: { type: 'string' },
      at: { type: 'string' },
    },
    renderHelp,
  );
  const [target, location] = positionals;
  if (positionals.length !== 2 || (target !== 'nginx' && target !== 'envoy'))
    throw new CliError(renderHelp);
  const trust = values.trust ?? 'open';
  if (trust !== 'open' && trust !== 'signed')
    throw new CliError(`--trust expects open or signed, got ${quoted(trust)}`);
  const format = values.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json')
    throw new CliError(`--format expects yaml or json, got ${quoted(format)}`);
  const assets = values.assets?.replace(/\/+$/, '');
  if (assets !== undefined && target !== 'nginx')
    throw new CliError('--assets is for render nginx (Envoy does not serve files)');
  if (assets !== undefined && !/^\/[A-Za-z0-9._/-]*$/.test(assets))
    throw new CliError(
      `--assets expects an absolute path of letters, digits and . _ - /, got ${quoted(values.assets ?? '')}`,
    );
  const bucketHeader = values['bucket-header'];
  if ((bucketHeader ?? values.rule ?? values.at) !== undefined && target !== 'envoy')
    throw new CliError('--bucket-header, --rule and --at are for render envoy');
  if (bucketHeader === undefined && (values.rule ?? values.at) !== undefined)
    throw new CliError('--rule and --at need --bucket-header');
  if (bucketHeader !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(bucketHeader))
    throw new CliError('--bucket-header must be a plain header name');
  const at = instantOption(values.at, '--at');
  const config = await requireConfig(location as string, run);
  const split: EnvoySplit | undefined =
    bucketHeader === undefined
      ? undefined
      : { header: bucketHeader.toLowerCase(), rule: pickSplitRule(config, values.rule), at };
  const upstreams = new Map<string, string>();
  for (const u of values.upstream ?? []) {
    const [version, address] = pair(u, '=', 'upstream');
    if (!config.hasVersion(version))
      throw new CliError(
        `--upstream ${printable(version)}: not a version of this config (${printable(config.versions.join(', '))})`,
      );
    if (!isAddress(address))
      throw new CliError(`--upstream ${printable(version)}: ${quoted(address)} is not host:port`);
    upstreams.set(version, address);
  }
  const header = values.header ?? 'X-Gray-Id';
  const cookie = values.cookie ?? 'gray';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(header) || !/^[A-Za-z0-9_-]{1,64}$/.test(cookie))
    throw new CliError('--header/--cookie must be plain names');
  const listen = values.listen ?? '127.0.0.1:8000';
  if (!isAddress(listen, true)) throw new CliError(`--listen: ${quoted(listen)} is not host:port`);
  const collisions = upstreamCollisions(config.versions);
  if (collisions.length > 0)
    throw new CliError(
      `versions ${printable(collisions.join('; '))} would share one upstream/cluster name: rename one of them`,
    );
  // nginx prints addresses (Envoy's clusters are not rendered): say where an unnamed lane goes.
  if (target === 'nginx' && !upstreams.has(config.default))
    run.warnOnce(
      `no --upstream for the default version ${printable(config.default)}: it${config.versions.some((v) => !upstreams.has(v) && v !== config.default) ? ', and every version without one,' : ''} is rendered at ${FALLBACK_UPSTREAM}`,
    );
  const plan: RenderPlan = {
    config,
    header,
    cookies: cookieNames(cookie),
    trust,
    upstreams,
    listen,
    source: location === '-' ? '-' : locationName(location as string),
  };
  run.out(target === 'nginx' ? renderNginx(plan, assets) : renderEnvoy(plan, format, split));
  return 0;
}
