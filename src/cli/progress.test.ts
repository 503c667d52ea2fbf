import { Writable } from 'node:stream';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import type { Output } from './output.js';
import { ProgressLine } from './progress.js';

function terminal(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    }),
    { isTTY: true },
  );
  return { stream, text: () => chunks.join('') };
}

describe('ProgressLine', () => {
  it('shows how far the indexing of a compressed archive has read, then erases itself', () => {
    const { stream, text } = terminal();
    const progress = new ProgressLine(stream);
    progress.indexing('app.tar.zst', { bytesRead: 1024, totalBytes: 4096, decompressedBytes: 8192 });
    progress.clear();
    expect(text()).toBe('\r\x1b[2Kindexing app.tar.zst · 1 KiB of 4 KiB (8 KiB decompressed)\r\x1b[2K');
  });

  it('draws and erases nothing while off the screen (a job in the background), where the shell prompts', () => {
    const { stream, text } = terminal();
    let onScreen = false;
    const progress = new ProgressLine(stream, () => onScreen);
    progress.indexing('app.tar.zst', { bytesRead: 1024, totalBytes: 4096, decompressedBytes: 8192 });
    progress.clear();
    expect(text()).toBe('');
    // Drawn in the foreground, then sent to the background (Ctrl+Z, bg): the prompt is below it now.
    const drawnBefore = new ProgressLine(stream, () => onScreen);
    onScreen = true;
    drawnBefore.indexing('app.tar.zst', { bytesRead: 1024, totalBytes: 4096, decompressedBytes: 8192 });
    onScreen = false;
    drawnBefore.clear();
    expect(text()).toBe('\r\x1b[2Kindexing app.tar.zst · 1 KiB of 4 KiB (8 KiB decompressed)');
  });

  it('erases itself before another stderr line, so the line starts at the left margin', async () => {
    const { stream, text } = terminal();
    const progress = new ProgressLine(stream);
    progress.start(2, 2048);
    const io = progress.sharing({ stderr: stream } as unknown as Output);
    progress.update({ type: 'layer-progress', layer: 0, compressedBytes: 1024, compressedSize: 1024 });
    io.stderr.write('imgscope: warning: cannot write the layer cache\n');
    io.stderr.write('debug: cache miss sha256:abc\n');
    expect(text()).toBe(
      '\r\x1b[2Kanalysing layers 0/2 · 1 KiB of 2 KiB\r\x1b[2K' +
        'imgscope: warning: cannot write the layer cache\ndebug: cache miss sha256:abc\n',
    );
    expect(io.stderr.isTTY).toBe(true);
  });

  it('fits a narrow terminal: a wrapped line would be erased only on its last row', () => {
    const { stream, text } = terminal();
    Object.assign(stream, { columns: 30 });
    const progress = new ProgressLine(stream);
    progress.start(130, 2048);
    progress.update({ type: 'layer-progress', layer: 0, compressedBytes: 1024, compressedSize: 1024 });
    expect(text()).toBe('\r\x1b[2Kanalysing layers 0/130 · 1 Ki');
  });

  it('fits a narrow terminal by display columns: a path of wide characters takes two each', () => {
    const { stream, text } = terminal();
    Object.assign(stream, { columns: 30 });
    const progress = new ProgressLine(stream);
    progress.indexing('/下载/镜像/应用.tar.gz', {
      bytesRead: 1024,
      totalBytes: 2048,
      decompressedBytes: 4096,
    });
    expect(text()).toBe('\r\x1b[2Kindexing /下载/镜像/应用.tar.');
    expect(stringWidth(text().slice(5))).toBe(29);
  });
});
