import { formatSize } from '../../policy/sizes.js';
import { layerNumber, shortCommand } from '../../report/format.js';
import { fitRight, progressBar } from '../format.js';
import type { LayerState, TuiState } from '../state/state.js';
import { type Line, line, listRow, type Segment, seg } from './lines.js';
import { windowOf } from './list-cursor.js';

const SIZE_WIDTH = 9;

/**
 * The uncompressed size once known, a progress bar of compressed bytes while streaming; once the analysis
 * failed, every layer not read says it was stopped rather than showing a bar that will never move.
 */
function sizeOrProgress(layer: LayerState, failed: boolean): Segment {
  if (layer.summary) return seg(fitRight(formatSize(layer.summary.uncompressedSize), SIZE_WIDTH), 'plain');
  if (failed) return seg(fitRight('stopped', SIZE_WIDTH), 'dim');
  if (layer.status === 'waiting') return seg(fitRight('waiting', SIZE_WIDTH), 'dim');
  return seg(progressBar(layer.bytesRead, layer.compressedSize, SIZE_WIDTH), 'progress');
}

/** `Layers (13) · read 4/13  compressed → uncompressed`, the explanation dropped when it does not fit. */
export function layerTitle(state: TuiState, width: number): string {
  const done = state.layers.filter((layer) => layer.status === 'done').length;
  const count = state.layers.length;
  const streaming = done < count && !state.failure ? ` · read ${done}/${count}` : '';
  const title = `Layers (${count})${streaming}`;
  const columns = '  compressed → uncompressed';
  return title.length + columns.length <= width ? title + columns : title;
}

/** One line per visible layer: number, compressed size, uncompressed size (or progress), command. */
export function layerLines(state: TuiState, height: number): Line[] {
  const numberWidth = Math.max(2, String(state.layers.length).length);
  return windowOf(state.layers, state.layerCursor, height).map((layer) => {
    const command = shortCommand(layer.command, Number.POSITIVE_INFINITY) || '—';
    const l: Line = line(
      `${String(layerNumber(layer.index)).padStart(numberWidth)} `,
      fitRight(formatSize(layer.compressedSize), SIZE_WIDTH),
      seg(' → ', 'dim'),
      sizeOrProgress(layer, state.failure !== undefined),
      ` ${command}`,
    );
    return listRow(l, layer.index === state.layerCursor.index);
  });
}
