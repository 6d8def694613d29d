/**
 * Progress lines for long jobs. On a terminal it redraws one line; elsewhere
 * (CI logs, notebooks) it prints a line at most every `minIntervalMs`, so logs
 * stay short. Silence it with RESAD_QUIET=1 or `{ quiet: true }`.
 */
export interface ProgressOptions {
  quiet?: boolean;
  minIntervalMs?: number;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastPrint = 0;
  private readonly quiet: boolean;
  private readonly minIntervalMs: number;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };

  constructor(readonly label: string, readonly total: number, options: ProgressOptions = {}) {
    this.quiet = options.quiet ?? process.env.RESAD_QUIET === '1';
    this.stream = options.stream ?? process.stderr;
    this.minIntervalMs = options.minIntervalMs ?? (this.stream.isTTY ? 100 : 5000);
  }

  tick(n = 1, detail = ''): void {
    this.done += n;
    const now = Date.now();
    if (this.done < this.total && now - this.lastPrint < this.minIntervalMs) return;
    this.lastPrint = now;
    this.print(detail);
  }

  /** Elapsed seconds since construction. */
  elapsed(): number {
    return (Date.now() - this.start) / 1000;
  }

  private print(detail: string): void {
    if (this.quiet) return;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const secs = this.elapsed();
    const eta = frac > 0 && frac < 1 ? ` eta ${((secs / frac) * (1 - frac)).toFixed(0)}s` : '';
    const line = `${this.label} [${bar}] ${this.done}/${this.total} ${secs.toFixed(1)}s${eta}${detail ? ' ' + detail : ''}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K${this.done >= this.total ? '\n' : ''}`);
    } else {
      this.stream.write(line + '\n');
    }
  }
}
