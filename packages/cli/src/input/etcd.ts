import type * as EtcdPackage from '@graylane/etcd';
import type { EtcdDocumentClient, EtcdTlsOptions } from '@graylane/etcd';
import type { EtcdLocation } from '../location.js';
import { CliError } from '../io.js';
import { printable } from '../text.js';
import { readFileCapped } from './file.js';
import type { Run } from './run.js';

/** Client deadlines for a one-shot command: fail fast on an unreachable cluster. */
const CLI_ETCD_DIAL_MS = 3_000;
const CLI_ETCD_REQUEST_MS = 5_000;
/** A CA bundle, certificate or key file: PEM, far below this (a system CA bundle is ~250 KB). */
const MAX_TLS_FILE_BYTES = 4 * 1024 * 1024;

const MISSING_ETCD =
  'etcd:// needs the optional package @graylane/etcd (it brings etcd3, about 18 MB of gRPC): ' +
  'npm install @graylane/etcd';

type EtcdModule = typeof EtcdPackage;

/**
 * `@graylane/etcd` is an optional peer: loaded only for `etcd://` locations, with a clear message
 * when it (or etcd3) is not installed.
 */
async function loadEtcd(): Promise<EtcdModule> {
  try {
    return await import('@graylane/etcd');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      throw new CliError(MISSING_ETCD);
    throw err;
  }
}

/**
 * Opens a document client on an etcd location, through `@graylane/etcd`'s client options (hosts,
 * TLS, password auth): one etcd code path for the rule source and the CLI. TLS material comes
 * from `GRAYLANE_ETCD_CA`, `GRAYLANE_ETCD_CERT`, `GRAYLANE_ETCD_KEY` (file paths).
 */
export async function openEtcd(
  location: EtcdLocation,
  run: Run,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ client: EtcdDocumentClient; isAuthError: (err: unknown) => boolean }> {
  if (location.passwordInUrl)
    run.warnOnce(
      'a password in the URL is visible in the process list and the shell history; prefer GRAYLANE_ETCD_USER and GRAYLANE_ETCD_PASSWORD',
    );
  const tls = await tlsFrom(location, env);
  const etcd = await loadEtcd();
  const client = etcd.createEtcdDocumentClient({
    hosts: location.hosts,
    key: location.key,
    ...(location.username !== undefined && location.password !== undefined
      ? { auth: { username: location.username, password: location.password } }
      : {}),
    ...(tls ? { tls } : {}),
    dialTimeoutMs: CLI_ETCD_DIAL_MS,
    requestTimeoutMs: CLI_ETCD_REQUEST_MS,
  });
  return { client, isAuthError: etcd.isEtcdAuthError };
}

async function tlsFrom(
  location: EtcdLocation,
  env: NodeJS.ProcessEnv,
): Promise<EtcdTlsOptions | undefined> {
  const files = {
    ca: env['GRAYLANE_ETCD_CA'],
    cert: env['GRAYLANE_ETCD_CERT'],
    key: env['GRAYLANE_ETCD_KEY'],
  };
  const given = Object.entries(files).filter(([, v]) => v);
  if (!location.tls) {
    if (given.length)
      throw new CliError(
        `${printable(location.display)}: ${given.map(([k]) => `GRAYLANE_ETCD_${k.toUpperCase()}`).join(', ')} need etcds:// (TLS)`,
      );
    return undefined;
  }
  if (Boolean(files.cert) !== Boolean(files.key))
    throw new CliError(
      'GRAYLANE_ETCD_CERT and GRAYLANE_ETCD_KEY go together (a client certificate and its key)',
    );
  const out: { -readonly [K in keyof EtcdTlsOptions]: EtcdTlsOptions[K] } = {};
  // Read as every file the CLI reads: a FIFO or device there is refused, never waited on.
  for (const [name, path] of given)
    out[name as keyof EtcdTlsOptions] = Buffer.from(
      await readFileCapped(
        path as string,
        MAX_TLS_FILE_BYTES,
        `GRAYLANE_ETCD_${name.toUpperCase()}`,
      ),
    );
  return out;
}

/**
 * A one-line reason for an etcd failure, with the location's safe display form; the client's
 * message and the user's name escaped (they may quote the key, or anything a server sent: I1).
 */
export function etcdFailure(
  location: EtcdLocation,
  err: unknown,
  isAuthError: (err: unknown) => boolean,
  doing: string,
): CliError {
  const message = err instanceof Error ? err.message : String(err);
  const where = printable(location.display);
  if (isAuthError(err))
    return new CliError(
      `cannot ${doing} ${where}: authentication or permission denied${location.userShown ? ` for ${printable(location.userShown)}` : ''} (${printable(message)})`,
    );
  return new CliError(
    `cannot ${doing} ${where}: ${printable(message.replace(/\s*Resolution note:\s*$/, ''))}`,
  );
}
