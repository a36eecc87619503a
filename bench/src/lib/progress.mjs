// Progress for long runs (`npm run bench`, `npm run soak`), on stderr so stdout stays the report.
// On a terminal: one status line, redrawn in place (suite, step, elapsed, time left). Elsewhere
// (CI logs, pipes): a plain line when a phase starts and at most every 15 s while it runs.
// GRAYLANE_PROGRESS=0 silences it; GRAYLANE_PROGRESS=lines forces plain lines.

const LINE_EVERY_MS = 15_000;

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * @param {{ name: string, stream?: NodeJS.WriteStream, env?: Record<string, string | undefined> }} o
 */
export function createProgress({ name, stream = process.stderr, env = process.env }) {
  const setting = env.GRAYLANE_PROGRESS;
  const mode = setting === '0' ? 'off' : setting === 'lines' || !stream.isTTY ? 'lines' : 'tty';
  let phase;
  let drawn = false;
  let lastLine = 0;
  let ticker;

  const left = () => {
    if (!phase) return undefined;
    const now = performance.now();
    const elapsed = (now - phase.started) / 1000;
    const planned = (now - phase.planned) / 1000;
    const own =
      phase.done > 0 && phase.total > 0
        ? (planned / phase.done) * (phase.total - phase.done)
        : (phase.estimate ?? NaN) - elapsed;
    return { elapsed, own: Math.max(0, own), all: Math.max(0, own) + (phase.after ?? 0) };
  };

  const text = () => {
    const t = left();
    const parts = [`[${name}]`, phase.label];
    if (phase.total > 0)
      parts.push(`${phase.unit} ${Math.min(phase.done + 1, phase.total)}/${phase.total}`);
    if (phase.detail) parts.push(phase.detail);
    parts.push(`${duration(t.elapsed)} elapsed`);
    let eta = `~${duration(t.own)} left`;
    if (phase.after) eta += ` (~${duration(t.all)} in all)`;
    parts.push(eta);
    return parts.join(' · ');
  };

  const draw = (force = false) => {
    if (mode === 'off' || !phase) return;
    if (mode === 'tty') {
      const line = text();
      const width = Math.max(20, (stream.columns ?? 120) - 1);
      stream.write(`\r\x1b[K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
      drawn = true;
    } else if (force || performance.now() - lastLine >= LINE_EVERY_MS) {
      lastLine = performance.now();
      stream.write(`${text()}\n`);
    }
  };

  const clear = () => {
    if (mode === 'tty' && drawn) stream.write('\r\x1b[K');
    drawn = false;
  };

  return {
    /**
     * Starts a phase: `total` steps of `unit` (0 when unknown), `estimate` seconds for it before
     * the first step is done, `after` seconds expected for the phases still to come.
     */
    phase(label, { total = 0, unit = 'step', estimate, after } = {}) {
      const started = performance.now();
      phase = {
        label,
        total,
        unit,
        estimate,
        after,
        done: 0,
        detail: '',
        started,
        planned: started,
      };
      if (mode === 'tty' && !ticker) {
        ticker = setInterval(() => draw(), 1000);
        ticker.unref();
      }
      draw(true);
    },
    /** Sets the steps of the current phase (a suite plans its own work); time left follows them. */
    plan(total, unit = 'step') {
      if (!phase) return;
      Object.assign(phase, { total, unit, done: 0, planned: performance.now() });
      draw(true);
    },
    /** `n` more steps done; `detail` says what runs now. */
    advance(n = 1, detail) {
      if (!phase) return;
      phase.done += n;
      if (detail !== undefined) phase.detail = detail;
      draw();
    },
    /** Absolute progress: `done` of `total` steps. */
    set(done, detail) {
      if (!phase) return;
      phase.done = done;
      if (detail !== undefined) phase.detail = detail;
      draw();
    },
    /** What runs now, without a step. */
    detail(detail) {
      if (!phase) return;
      phase.detail = detail;
      draw();
    },
    /** Prints a line above the status line (or as a plain line). */
    note(line) {
      if (mode === 'off') return;
      clear();
      stream.write(`[${name}] ${line}\n`);
      draw();
    },
    /** Removes the status line before other output; the next update redraws it. */
    clear,
    /** Ends progress output (stops the ticker, clears the line). */
    end() {
      clearInterval(ticker);
      ticker = undefined;
      clear();
      phase = undefined;
    },
  };
}

/** A progress that prints nothing, for suites run without a runner. */
export const silentProgress = {
  phase() {},
  plan() {},
  advance() {},
  set() {},
  detail() {},
  note() {},
  clear() {},
  end() {},
};
