import { validateConfig, type GrayConfig } from '@graylane/core';
import { parse } from '../args.js';
import { CliError, paint } from '../io.js';
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
import { redact } from '../secrets.js';
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
  --json                  machine-readable result

Exit codes: 0 written, or nothing to change; 1 <config> is invalid; 2 usage or I/O
error (target unreachable, no --yes without a terminal); 3 conflict: <target>
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
    // The one diagnostic on stdout: scrubbed here, as stderr is (MISC-03).
    run.out(
      JSON.stringify(
        { written: false, error: redact(err.message), exitCode: err.exitCode },
        null,
        2,
      ),
    );
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
      run.err(`${paint(run, 'red', 'error')} ${e.path}: ${e.message}`);
    run.err(`${loaded.display} is not a valid config: nothing written`);
    if (values.json) {
      const { errors } = loaded.result;
      run.out(JSON.stringify({ written: false, errors, exitCode: PUSH_EXIT.invalid }, null, 2));
    }
    return PUSH_EXIT.invalid;
  }
  const next = loaded.result.config;
  const target = await openTarget(targetText, run);
  try {
    return await preview(run, target, loaded.text, next, { ...values, source: loaded.display });
  } finally {
    target.close();
  }
}

interface PushOptions {
  readonly 'expect-revision'?: string | undefined;
  readonly yes?: boolean | undefined;
  readonly 'dry-run'?: boolean | undefined;
  readonly sample?: string | undefined;
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
  const report: Record<string, unknown> = { target: target.display, revision: state.revision };
  const done = (code: number, extra: Record<string, unknown> = {}): number => {
    if (options.json) run.out(JSON.stringify({ ...report, ...extra, exitCode: code }, null, 2));
    return code;
  };
  if (expected !== undefined && expected !== state.revision) {
    run.err(
      `${paint(run, 'red', 'error')}: conflict: ${target.display} is at revision ${state.revision}, not ${expected} (--expect-revision); nothing written. Review the change again.`,
    );
    return done(PUSH_EXIT.conflict, { written: false, conflict: true });
  }
  const current = currentConfig(state);
  const cmp: Comparison | undefined = current.config
    ? compareConfigs(current.config, next)
    : undefined;
  const impact: Impact | undefined =
    options.sample && current.config
      ? await sampleImpact(options.sample, run, current.config, next, options.now)
      : undefined;
  Object.assign(report, { current: current.kind, ...(cmp ?? { changed: true }), impact });
  if (!options.json) {
    run.out(`target ${target.display} at revision ${state.revision}`);
    if (current.kind === 'absent')
      run.out(`${target.display} does not exist yet: it will be created`);
    else if (current.kind === 'invalid')
      run.out(
        `the current config is not valid (${current.problems} problems): it will be replaced`,
      );
    else printComparison(run, current.config as GrayConfig, next, cmp as Comparison, impact);
  }
  if (cmp && !cmp.changed) {
    if (!options.json)
      run.out(`no change: ${target.display} already holds this config; nothing written`);
    return done(PUSH_EXIT.ok, { written: false });
  }
  if (options['dry-run']) {
    if (!options.json)
      run.out(
        `dry run: nothing written. To write exactly this change: graylane push ${options.source} ${target.display} --expect-revision ${state.revision} --yes`,
      );
    return done(PUSH_EXIT.ok, { written: false, dryRun: true });
  }
  if (!options.yes) {
    const answer = await run.confirm?.(`write this config to ${target.display}?`);
    if (answer === undefined) {
      run.err(
        `${paint(run, 'red', 'error')}: no terminal to confirm on: pass --yes to write (or --dry-run to preview)`,
      );
      return done(PUSH_EXIT.usage, { written: false });
    }
    if (!answer) {
      run.err('not confirmed: nothing written');
      return done(PUSH_EXIT.declined, { written: false });
    }
  }
  const result = await target.write(text, state.revision);
  if (result.written === 'unknown') {
    run.err(
      `${paint(run, 'red', 'error')}: ${result.error}: the outcome is unknown — the write may have reached ${target.display} before the failure. Run the same push again: it compares first, so a write that landed shows as "no change".`,
    );
    return done(PUSH_EXIT.usage, { written: 'unknown', error: redact(result.error) });
  }
  if (!result.written) {
    run.err(
      `${paint(run, 'red', 'error')}: conflict: ${target.display} changed since it was read (revision ${state.revision} → ${result.current}); nothing written. Run the push again to review the new change.`,
    );
    return done(PUSH_EXIT.conflict, {
      written: false,
      conflict: true,
      currentRevision: result.current,
    });
  }
  if (!options.json)
    run.out(
      `${paint(run, 'green', 'written')}: ${target.display} is now at revision ${result.revision}`,
    );
  return done(PUSH_EXIT.ok, { written: true, newRevision: result.revision });
}

type Current =
  | { readonly kind: 'absent'; readonly config?: undefined }
  | { readonly kind: 'invalid'; readonly problems: number; readonly config?: undefined }
  | { readonly kind: 'valid'; readonly config: GrayConfig };

function currentConfig(state: TargetState): Current {
  if (state.text === undefined) return { kind: 'absent' };
  if (!state.utf8) return { kind: 'invalid', problems: 1 };
  const result = validateConfig(state.text, { regex });
  return result.ok
    ? { kind: 'valid', config: result.config }
    : { kind: 'invalid', problems: result.errors.length };
}
