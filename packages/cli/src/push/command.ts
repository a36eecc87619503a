import { validateConfig, type GrayConfig } from '@graylane/core';
import { parse } from '../args.js';
import { asIoError, CliError, errorDocument, paint, type CliErrorCode } from '../io.js';
import { redact } from '../secrets.js';
import {
  compareConfigs,
  parseNow,
  printComparison,
  sampleImpact,
  type Comparison,
  type Impact,
} from '../impact.js';
import type { Run } from '../input/run.js';
import { loadConfig, regex } from '../load.js';
import { printable } from '../text.js';
import { openTarget, type Target, type TargetState } from './target.js';

export const pushHelp = `Usage: graylane push <config> <target> [options]

Validates <config> (a file, or - for stdin), reads <target> (etcd://host:port/key,
etcds://… for TLS, or a file), shows what would change, and writes only if <target>
is still at the revision it read (etcd mod_revision in a transaction; a file's
sha256, under a lock, replaced atomically): two operators never overwrite each other.

Options:
  --expect-revision REV   write only if <target> is at REV (printed by a dry run):
                          approve exactly the change you reviewed
  --yes                   write without asking (needed without a terminal)
  --dry-run               show the preview only
  --sample visitors.jsonl requests (JSON lines) for the impact preview, as in diff
  --now ISO               evaluate the sample at this instant
  --replace-foreign       replace a <target> that holds something other than a graylane
                          config (not JSON, or JSON without "versions"); refused without it,
                          even with --yes. A graylane config with problems is replaced.
  --json                  machine-readable result

Exit codes: 0 written, or nothing to change; 1 <config> is invalid; 2 usage or I/O
error (target unreachable, not a graylane config, no --yes without a terminal); 3 conflict: <target>
changed since it was read, or is not at --expect-revision; 4 not confirmed.`;

/** Exit codes of push (documented in docs/cli.md). */
export const PUSH_EXIT = { ok: 0, invalid: 1, usage: 2, conflict: 3, declined: 4 } as const;

export async function push(args: readonly string[], run: Run): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      'expect-revision': { type: 'string' },
      yes: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      sample: { type: 'string' },
      now: { type: 'string' },
      'replace-foreign': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    pushHelp,
  );
  if (positionals.length !== 2) throw new CliError(pushHelp);
  const [source, targetText] = positionals as [string, string];
  const now = parseNow(values.now, '--now');
  if (!values.json) return pushOnce(run, source, targetText, { ...values, now });
  // --json promises a result on stdout for every outcome a script can meet, I/O errors included.
  try {
    return await pushOnce(run, source, targetText, { ...values, now });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    run.err(`${paint(run, 'red', 'error')}: ${err.message}`);
    // The one diagnostic on stdout, scrubbed as stderr is (MISC-03).
    run.out(errorDocument(err, { written: false }));
    return err.exitCode;
  }
}

async function pushOnce(
  run: Run,
  source: string,
  targetText: string,
  values: Omit<PushOptions, 'source'>,
): Promise<number> {
  const loaded = await loadConfig(source, run, 'new config');
  if (!loaded.result.ok) {
    for (const e of loaded.result.errors)
      run.err(`${paint(run, 'red', 'error')} ${printable(e.path)}: ${printable(e.message)}`);
    run.err(`${printable(loaded.display)} is not a valid config: nothing written`);
    if (values.json) {
      const { errors } = loaded.result;
      const problems = errors.map((e) => ({ path: e.path, message: e.message }));
      const err = new CliError(
        `${printable(loaded.display)} is not a valid config: nothing written`,
        PUSH_EXIT.invalid,
        'invalid_config',
        problems,
      );
      run.out(errorDocument(err, { written: false, errors }));
    }
    return PUSH_EXIT.invalid;
  }
  const next = loaded.result.config;
  // A target that cannot be opened, read or written is an I/O failure (`error.code`: `io`).
  const target = await openTarget(targetText, run).catch((err: unknown) => {
    throw asIoError(err);
  });
  try {
    return await preview(run, target, loaded.text, next, { ...values, source: loaded.display });
  } catch (err) {
    throw asIoError(err);
  } finally {
    target.close();
  }
}

interface PushOptions {
  readonly 'expect-revision'?: string | undefined;
  readonly yes?: boolean | undefined;
  readonly 'dry-run'?: boolean | undefined;
  readonly sample?: string | undefined;
  readonly 'replace-foreign'?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly now: number;
  readonly source: string;
}

async function preview(
  run: Run,
  target: Target,
  text: string,
  next: GrayConfig,
  options: PushOptions,
): Promise<number> {
  const state = await target.read();
  const expected = options['expect-revision'];
  // Every line below that names the target or the source is composed here, on stdout too: the
  // locations are scrubbed as diagnostics are (MISC-03), the config and the comparison never;
  // and escaped, as all text from input is (I1). `--json` names the target unescaped (JSON
  // escapes it).
  const scrubbed = redact(target.display);
  const shown = printable(scrubbed);
  const source = printable(redact(options.source));
  const report: Record<string, unknown> = { target: scrubbed, revision: state.revision };
  /** Prints the outcome (`--json`); a failure carries `error: {code, message}` as every command's. */
  const done = (
    code: number,
    extra: Record<string, unknown> = {},
    failure?: { code: CliErrorCode; message: string },
  ): number => {
    if (!options.json) return code;
    if (failure) {
      const err = new CliError(failure.message, code, failure.code);
      run.out(errorDocument(err, { ...report, ...extra }));
    } else run.out(JSON.stringify({ ok: true, ...report, ...extra, exitCode: code }, null, 2));
    return code;
  };
  /** A failure: on stderr, and in the `--json` document. */
  const fail = (code: number, kind: CliErrorCode, message: string, extra = {}): number => {
    run.err(kind === 'not_confirmed' ? message : `${paint(run, 'red', 'error')}: ${message}`);
    return done(code, { written: false, ...extra }, { code: kind, message });
  };
  if (expected !== undefined && expected !== state.revision)
    return fail(
      PUSH_EXIT.conflict,
      'conflict',
      `conflict: ${shown} is at revision ${state.revision}, not ${printable(expected)} (--expect-revision); nothing written. Review the change again.`,
      { conflict: true },
    );
  const current = currentConfig(state);
  if (current.kind === 'foreign') {
    Object.assign(report, { current: current.kind });
    if (!options['replace-foreign'])
      return fail(
        PUSH_EXIT.usage,
        'not_a_config',
        `${shown} does not hold a graylane config (${current.why}): not replacing it. Check the target; pass --replace-foreign to replace it anyway.`,
      );
  }
  const cmp: Comparison | undefined = current.config
    ? compareConfigs(current.config, next, options.now)
    : undefined;
  const impact: Impact | undefined =
    options.sample && current.config
      ? await sampleImpact(options.sample, run, current.config, next, options.now)
      : undefined;
  Object.assign(report, { current: current.kind, ...(cmp ?? { changed: true }), impact });
  if (!options.json) {
    run.out(`target ${shown} at revision ${state.revision}`);
    if (current.kind === 'absent') run.out(`${shown} does not exist yet: it will be created`);
    else if (current.kind === 'invalid')
      run.out(
        `the current config is not valid (${current.problems} problem${current.problems === 1 ? '' : 's'}): it will be replaced`,
      );
    else if (current.kind === 'empty') run.out(`${shown} is empty: it will be replaced`);
    else if (current.kind === 'foreign')
      run.out(
        `${shown} does not hold a graylane config (${current.why}): it will be replaced (--replace-foreign)`,
      );
    else printComparison(run, current.config as GrayConfig, next, cmp as Comparison, impact);
  }
  if (cmp && !cmp.changed) {
    if (!options.json) run.out(`no change: ${shown} already holds this config; nothing written`);
    return done(PUSH_EXIT.ok, { written: false });
  }
  if (options['dry-run']) {
    if (!options.json)
      run.out(
        `dry run: nothing written. To write exactly this change: graylane push ${source} ${shown} --expect-revision ${state.revision}${current.kind === 'foreign' ? ' --replace-foreign' : ''} --yes`,
      );
    return done(PUSH_EXIT.ok, { written: false, dryRun: true });
  }
  if (!options.yes) {
    const answer = await run.confirm?.(`write this config to ${shown}?`);
    if (answer === undefined)
      return fail(
        PUSH_EXIT.usage,
        'usage',
        'no terminal to confirm on: pass --yes to write (or --dry-run to preview)',
      );
    if (!answer) return fail(PUSH_EXIT.declined, 'not_confirmed', 'not confirmed: nothing written');
  }
  const result = await target.write(text, state.revision);
  if (result.written === 'unknown')
    return fail(
      PUSH_EXIT.usage,
      'io',
      `${printable(result.error)}: the outcome is unknown — the write may have reached ${shown} before the failure. Run the same push again: it compares first, so a write that landed shows as "no change".`,
      { written: 'unknown' },
    );
  if (!result.written)
    return fail(
      PUSH_EXIT.conflict,
      'conflict',
      `conflict: ${shown} changed since it was read (revision ${state.revision} → ${result.current}); nothing written. Run the push again to review the new change.`,
      { conflict: true, currentRevision: result.current },
    );
  if (!options.json)
    run.out(`${paint(run, 'green', 'written')}: ${shown} is now at revision ${result.revision}`);
  return done(PUSH_EXIT.ok, { written: true, newRevision: result.revision });
}

type Current =
  | { readonly kind: 'absent' | 'empty'; readonly config?: undefined }
  | { readonly kind: 'invalid'; readonly problems: number; readonly config?: undefined }
  /** Not a graylane config at all (`why`): replaced only with `--replace-foreign`. */
  | { readonly kind: 'foreign'; readonly why: string; readonly config?: undefined }
  | { readonly kind: 'valid'; readonly config: GrayConfig };

function currentConfig(state: TargetState): Current {
  if (state.text === undefined) return { kind: 'absent' };
  if (state.utf8 && state.text.trim() === '') return { kind: 'empty' };
  const result = state.utf8 ? validateConfig(state.text, { regex }) : undefined;
  if (result?.ok) return { kind: 'valid', config: result.config };
  const why = foreign(state.utf8 ? state.text : textOf(state));
  if (why !== undefined) return { kind: 'foreign', why };
  return { kind: 'invalid', problems: result ? result.errors.length : 1 };
}

/**
 * Why `text` is not a graylane config at all, or `undefined` when it is one, valid or not. A
 * config being fixed is a JSON object with a `"versions"` member (or names graylane's schema),
 * or — cut short or mistyped so that it does not parse — text that starts as an object and has
 * a `"versions"` key. A `package.json`, a YAML or INI file, an array or a bare value is not.
 */
function foreign(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return /^\s*\{/.test(text) && /"versions"\s*:/.test(text) ? undefined : 'not JSON';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return `JSON ${Array.isArray(doc) ? 'array' : doc === null ? 'null' : typeof doc}, not an object`;
  const schema = (doc as Record<string, unknown>)['$schema'];
  if (
    Object.prototype.hasOwnProperty.call(doc, 'versions') ||
    (typeof schema === 'string' && /graylane/i.test(schema))
  )
    return undefined;
  return 'a JSON object without "versions"';
}

/** The target's text for the shape check: a UTF-16 document (with its BOM) decoded as such. */
function textOf(state: TargetState): string {
  const b = state.bytes;
  if (b && b.length >= 2) {
    if (b[0] === 0xff && b[1] === 0xfe) return Buffer.from(b.subarray(2)).toString('utf16le');
    if (b[0] === 0xfe && b[1] === 0xff)
      return Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)))
        .swap16()
        .toString('utf16le');
  }
  return state.text ?? '';
}
