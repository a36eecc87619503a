import { signMarker, verifyMarker, type KeyRing } from '@graylane/node';
import { MAX_COOKIE_MAX_AGE_SECONDS, isGraylaneError } from '@graylane/core';
import { parse } from '../args.js';
import { CliError, paint } from '../io.js';
import { INPUT_LIMITS, readInput } from '../input/read.js';
import type { Run } from '../input/run.js';
import { requireConfig } from '../load.js';
import { addSecret } from '../secrets.js';
import { printable, quoted } from '../text.js';

export const signHelp = `Usage: graylane sign <version> --key-file F [--kid K] [--ttl 2h] [--subject S] [--config C]

Prints a signed marker for 'signed' trust mode: <version>.<exp>.<kid>.<hmac>.
Send it as X-Gray-Id, or set it as the gray cookie. Default kid: k1, ttl: 2h;
--ttl is whole seconds, minutes, hours or days (90s, 15m, 2h, 1d), at most 30d.
--config refuses a version the config does not declare.
--key-file - reads the key from stdin (e.g. from a secret manager).`;

/**
 * The longest `--ttl`: 30 days, the cap on graylane's sticky cookie (`MAX_COOKIE_MAX_AGE_SECONDS`).
 * A persisted token's cookie never outlives that cap, and the verifier honours a token until its
 * own expiry, however far: a longer-lived token would be a standing bypass of the rules.
 */
export const MAX_TTL_SECONDS = MAX_COOKIE_MAX_AGE_SECONDS;

export const verifyHelp = `Usage: graylane verify <token> (--key-file F [--kid K] | --keys-file keys.json) [--subject S] [--config C]

Checks a signed marker. keys.json maps key ids to keys: {"k1": "…", "k2": "…"}.
Exit 0 when valid (prints version, key id and expiry), 1 when not (prints why).
Any one of the files may be - (stdin).`;

export async function sign(args: readonly string[], io: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      'key-file': { type: 'string' },
      kid: { type: 'string' },
      ttl: { type: 'string' },
      subject: { type: 'string' },
      config: { type: 'string' },
    },
    signHelp,
  );
  const version = positionals[0];
  if (positionals.length !== 1 || !version || !values['key-file']) throw new CliError(signHelp);
  const ttlSeconds = ttl(values.ttl ?? '2h');
  if (values.config !== undefined) {
    const config = await requireConfig(values.config, io);
    if (!config.hasVersion(version))
      throw new CliError(
        `${quoted(version)}: not a version of this config (${printable(config.versions.join(', '))}); a server with it would answer 'unknown'`,
      );
  }
  const key = await readKey(values['key-file'], io);
  try {
    const token = signMarker(version, {
      key,
      kid: values.kid ?? 'k1',
      ttlSeconds,
      ...(values.subject === undefined ? {} : { subject: values.subject }),
    });
    io.out(token);
    return 0;
  } catch (err) {
    if (isGraylaneError(err)) throw new CliError(printable(err.message.replace('[graylane] ', '')));
    throw err;
  }
}

/** `90s`, `15m`, `2h`, `1d` or plain seconds: digits only (no sign, fraction, exponent or hex). */
const TTL = /^(\d{1,12})([smhd]?)$/;
const TTL_UNITS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** `--ttl` in seconds: a whole duration from 1 s to {@link MAX_TTL_SECONDS}, or a usage error. */
function ttl(text: string): number {
  const m = TTL.exec(text);
  const seconds = m ? Number(m[1]) * (TTL_UNITS[m[2] as string] as number) : Number.NaN;
  if (seconds >= 1 && seconds <= MAX_TTL_SECONDS) return seconds;
  const why =
    seconds > MAX_TTL_SECONDS
      ? ": a signed marker lives at most as long as graylane's sticky cookie; sign a new one when it expires"
      : seconds === 0
        ? ': a token that is already expired'
        : '';
  throw new CliError(
    `--ttl expects a duration like 90s, 15m, 2h or 1d (whole seconds, minutes, hours or days, from 1s to 30d = ${MAX_TTL_SECONDS} s), got ${quoted(text)}${why}`,
  );
}

export async function verify(args: readonly string[], io: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      'key-file': { type: 'string' },
      'keys-file': { type: 'string' },
      kid: { type: 'string' },
      subject: { type: 'string' },
      config: { type: 'string' },
    },
    verifyHelp,
  );
  const token = positionals[0];
  if (positionals.length !== 1 || !token || (!values['key-file'] && !values['keys-file']))
    throw new CliError(verifyHelp);
  const keys: KeyRing = values['keys-file']
    ? await readKeyRing(values['keys-file'], io)
    : { [values.kid ?? 'k1']: await readKey(values['key-file'] as string, io) };
  const versions = values.config ? (await requireConfig(values.config, io)).versions : undefined;
  const result = verifyMarker(token, {
    keys,
    ...(versions ? { versions } : {}),
    ...(values.subject === undefined ? {} : { subject: values.subject }),
  });
  if (!result.ok) {
    io.out(`${paint(io, 'red', 'invalid')}: ${printable(result.reason)}`);
    return 1;
  }
  io.out(
    `${paint(io, 'green', 'valid')}: version ${printable(result.version)}, key ${printable(result.kid)}, expires ${new Date(result.expiresAt).toISOString()}`,
  );
  return 0;
}

async function readKey(file: string, run: Run): Promise<string> {
  const { text, display } = await readInput(file, run, {
    what: 'key file',
    maxBytes: INPUT_LIMITS.keys,
  });
  const key = text.trim();
  addSecret(key);
  if (key.length < MIN_KEY_LENGTH)
    throw new CliError(
      `key file ${printable(display)} holds ${key.length} characters; use at least ${MIN_KEY_LENGTH} (32 random bytes, base64, is better)`,
    );
  return key;
}

/** The shortest key sign and verify accept (a key file or every key of a key ring). */
const MIN_KEY_LENGTH = 16;

async function readKeyRing(file: string, run: Run): Promise<KeyRing> {
  const { text, display } = await readInput(file, run, {
    what: 'keys file',
    maxBytes: INPUT_LIMITS.keys,
  });
  const where = printable(display);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON.parse's message: it quotes the text around the error, and that text is keys.
    throw new CliError(`cannot read keys file ${where}: not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError(`${where} must be a JSON object of key id → key`);
  const ring = Object.create(null) as Record<string, string>;
  for (const [kid, key] of Object.entries(parsed)) {
    if (typeof key !== 'string')
      throw new CliError(`${where}: key ${printable(kid)} must be a string`);
    addSecret(key);
    if (key.length < MIN_KEY_LENGTH)
      throw new CliError(
        `${where}: key ${printable(kid)} holds ${key.length} characters; use at least ${MIN_KEY_LENGTH}, as sign requires`,
      );
    ring[kid] = key;
  }
  return ring;
}
