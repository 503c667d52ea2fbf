import stringWidth from 'string-width';
import type { AnalysisEvent } from '../analysis/types.js';
import { inForeground } from '../foreground.js';
import type { IndexProgress } from '../oci/local/compressed-tar.js';
import { formatSize } from '../policy/sizes.js';
import { charactersOf } from '../report/fit-table.js';
import { printableLine } from '../report/format.js';
import type { Output } from './output.js';

/**
 * One self-rewriting stderr line while layers stream. Only used when stderr is a terminal, so logs and
 * CI output never fill with carriage returns.
 */
export class ProgressLine {
  private readonly stream: NodeJS.WritableStream;
  private layerCount = 0;
  private totalBytes = 0;
  private readonly bytesByLayer = new Map<number, number>();
  private done = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly onScreen: () => boolean;

  /**
   * `onScreen` says whether the line may be drawn: a job in the background shares the terminal with the
   * shell, where \r\x1b[2K would erase the line being typed at its prompt.
   */
  constructor(stream: NodeJS.WritableStream, onScreen: () => boolean = () => true) {
    this.stream = stream;
    this.onScreen = onScreen;
  }

  /** Counts the layers of one image from here on. */
  start(layerCount: number, totalBytes: number): void {
    this.layerCount = layerCount;
    this.totalBytes = totalBytes;
    this.bytesByLayer.clear();
    this.done = 0;
    this.lastDraw = 0;
  }

  update(event: AnalysisEvent): void {
    if (event.type === 'layer-progress') this.bytesByLayer.set(event.layer, event.compressedBytes);
    if (event.type === 'layer-done') {
      this.done++;
      this.bytesByLayer.set(event.layer, event.summary.compressedSize);
    }
    const now = Date.now();
    if (event.type !== 'layer-done' && now - this.lastDraw < 80) return;
    this.lastDraw = now;
    let bytes = 0;
    for (const value of this.bytesByLayer.values()) bytes += value;
    this.draw(
      `analysing layers ${this.done}/${this.layerCount} · ${formatSize(bytes)} of ${formatSize(this.totalBytes)}`,
    );
  }

  /** The pass that indexes a compressed archive before any layer is read: how much of the file it has read. */
  indexing(location: string, { bytesRead, totalBytes, decompressedBytes }: IndexProgress): void {
    const now = Date.now();
    if (now - this.lastDraw < 80) return;
    this.lastDraw = now;
    this.draw(
      `indexing ${printableLine(location)} · ${formatSize(bytesRead)} of ${formatSize(totalBytes)} (${formatSize(decompressedBytes)} decompressed)`,
    );
  }

  private draw(line: string): void {
    if (!this.onScreen()) return;
    this.stream.write(`\r\x1b[2K${fitted(line, (this.stream as { columns?: number }).columns)}`);
    this.drawn = true;
  }

  clear(): void {
    // Drawn, then sent to the background: the shell has printed its prompt below since.
    if (this.drawn && this.onScreen()) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  /**
   * `io` whose stderr first erases the progress line: a warning or a --debug line written meanwhile
   * starts at the left margin instead of after the progress text, and the next update draws the
   * progress again below it.
   */
  sharing(io: Output): Output {
    const stderr = io.stderr;
    const write = (...args: Parameters<typeof stderr.write>) => {
      this.clear();
      return (stderr.write as (...args: unknown[]) => boolean).apply(stderr, args);
    };
    return { ...io, stderr: Object.assign(Object.create(stderr), { write }) };
  }
}

/**
 * `line` cut to fit a terminal `columns` wide, by display columns (a CJK character takes two). A line
 * that reaches the last column wraps (or leaves the cursor past the margin), and the next \r\x1b[2K
 * would then erase only its last row.
 */
function fitted(line: string, columns: number | undefined): string {
  if (!columns || stringWidth(line) < columns) return line;
  let cut = '';
  let width = 0;
  for (const char of charactersOf(line)) {
    width += stringWidth(char);
    if (width > columns - 1) break;
    cut += char;
  }
  return cut;
}

/**
 * The progress line for a command, or none: off a terminal, logs and CI output would fill with carriage
 * returns, and a TERM=dumb terminal (Emacs's shell) shows the erase-line code as text. Started with `&` or
 * continued by `bg`, it stays off the screen (the shell's prompt is there) and is drawn again after `fg`.
 */
export function progressLineFor(io: Output, onScreen = inForeground): ProgressLine | undefined {
  return io.stderr.isTTY && io.env.TERM !== 'dumb' ? new ProgressLine(io.stderr, onScreen) : undefined;
}
