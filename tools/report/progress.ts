// Progress for long work: a live cli-progress bar on a TTY, plain lines otherwise, nothing with --quiet.
import cliProgress from 'cli-progress';

/** A sink for progress: a bar over `total` steps with named values, plus free-form lines. */
export interface Progress {
  /** Starts a bar (or, off a TTY, prints a start line). */
  start(label: string, total: number): void;
  /** Moves the bar to `value` with the given figures (shown in the bar, or in plain lines every 10%). */
  update(value: number, figures: Record<string, string>): void;
  /** Ends the current bar. */
  stop(): void;
  /** Prints a line (above the bar on a TTY). */
  line(text: string): void;
}

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Show no bar and no per-step lines; {@link Progress.line} still prints (summaries, errors). */
  quiet?: boolean;
  /** Force the plain-line mode even on a TTY (tests). */
  plain?: boolean;
}

/** Creates a progress sink for `stream` (default stderr): a bar on a TTY, plain lines otherwise. */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { start() {}, update() {}, stop() {}, line: (text) => void stream.write(`${text}\n`) };
  if (stream.isTTY && !options.plain) return ttyProgress(stream);
  return plainProgress(stream);
}

function formatFigures(figures: Record<string, string>): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k} ${v}`)
    .join(' | ');
}

function ttyProgress(stream: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(label, total) {
      bar = new cliProgress.SingleBar(
        { stream, format: `${label} [{bar}] {value}/{total} | {figures} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { figures: '' });
    },
    update(value, figures) {
      bar?.update(value, { figures: formatFigures(figures) });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
    line(text) {
      if (bar) {
        // Clear the bar's line, print, and let the next update redraw it.
        stream.write(`\r\x1b[2K${text}\n`);
        bar.render?.();
      } else {
        stream.write(`${text}\n`);
      }
    },
  };
}

function plainProgress(stream: NodeJS.WriteStream): Progress {
  let label = '';
  let total = 0;
  let nextTenth = 1;
  return {
    start(l, t) {
      label = l;
      total = t;
      nextTenth = 1;
    },
    update(value, figures) {
      if (total <= 0 || value < (nextTenth * total) / 10) return;
      while (value >= (nextTenth * total) / 10) nextTenth++;
      stream.write(`${label} ${value}/${total} (${Math.round((value / total) * 100)}%) | ${formatFigures(figures)}\n`);
    },
    stop() {},
    line(text) {
      stream.write(`${text}\n`);
    },
  };
}
