/**
 * @internal Joins parts of one text with a separator, slicing each maximal run of parts that the
 * text already separates by exactly `sep` as one piece: rebuilding a header or query string
 * without a few parts costs one slice per run, not one string per part (AMP-01).
 */
export class SliceJoin {
  private out: string | undefined;
  private start = -1;
  private end = -1;

  constructor(
    private readonly text: string,
    private readonly sep: string,
  ) {}

  /** Appends the non-empty part `text[start, end)`. */
  add(start: number, end: number): void {
    if (this.end !== -1 && start === this.end + this.sep.length && this.separated()) {
      this.end = end;
      return;
    }
    this.flush();
    this.start = start;
    this.end = end;
  }

  /** The parts joined with `sep`, or undefined when none was added. */
  result(): string | undefined {
    this.flush();
    return this.out;
  }

  /** True when the text between the current run and the next part is exactly `sep`. */
  private separated(): boolean {
    for (let i = 0; i < this.sep.length; i++)
      if (this.text.charCodeAt(this.end + i) !== this.sep.charCodeAt(i)) return false;
    return true;
  }

  private flush(): void {
    if (this.end === -1) return;
    const run = this.text.slice(this.start, this.end);
    this.out = this.out === undefined ? run : this.out + this.sep + run;
    this.end = -1;
  }
}
