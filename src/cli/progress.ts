import type { AnalysisEvent } from '../analysis/types.js';
import { formatSize } from '../policy/sizes.js';

/**
 * One self-rewriting stderr line while layers stream. Only used when stderr is a terminal, so logs and
 * CI output never fill with carriage returns.
 */
export class ProgressLine {
  private readonly stream: NodeJS.WritableStream;
  private readonly layerCount: number;
  private readonly totalBytes: number;
  private readonly bytesByLayer = new Map<number, number>();
  private done = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(stream: NodeJS.WritableStream, layerCount: number, totalBytes: number) {
    this.stream = stream;
    this.layerCount = layerCount;
    this.totalBytes = totalBytes;
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
    this.stream.write(
      `\r\x1b[2Kanalysing layers ${this.done}/${this.layerCount} · ${formatSize(bytes)} of ${formatSize(this.totalBytes)}`,
    );
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
