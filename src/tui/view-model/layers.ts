import { formatSize } from '../../policy/sizes.js';
import { truncateEnd } from '../../report/fit-table.js';
import { layerNumber, printable, shortCommand } from '../../report/format.js';
import { fitRight, progressBar } from '../format.js';
import type { LayerState, TuiState } from '../state/state.js';
import { columnsOf, type Line, line, lineText, listRow, type Segment, seg } from './lines.js';
import { windowOf } from './list-cursor.js';

const SIZE_WIDTH = 9;
/** Below this many columns for the command, the compressed size gives way: Details still gives it. */
const MIN_COMMAND_COLUMNS = 20;
/** A reason cut shorter than this says nothing: the row keeps FAILED alone, and Details says why. */
const MIN_REASON_COLUMNS = 12;

/** Why a layer failed, in `room` columns: whole, cut after a word, or nothing when no word would fit. */
function fittedReason(reason: string, room: number): string {
  const text = printable(reason);
  if (columnsOf(text) <= room) return text;
  if (room < MIN_REASON_COLUMNS) return '';
  const cut = truncateEnd(text, room);
  // After a word when that keeps most of the room; a long first word (a digest) is cut where it must be.
  const space = cut.lastIndexOf(' ');
  return space >= room / 2 ? `${cut.slice(0, space)}…` : cut;
}

/**
 * Why `layer` failed, as `check` says it: the failure's message without the layer's name in front
 * (`layer 2/8 (sha256:…) of REF: ` or `layer 2 of REF (sha256:…): `), which the row already gives.
 * Undefined when the analysis did not fail in this layer.
 */
export function layerFailure(state: TuiState, layer: LayerState): string | undefined {
  const { failure } = state;
  if (!failure || failure.layer !== layer.index) return undefined;
  const { reference } = state.image;
  for (const named of [`of ${reference}: `, `of ${reference} (${layer.digest}): `]) {
    const at = failure.message.indexOf(named);
    if (at >= 0) return failure.message.slice(at + named.length);
  }
  return failure.message;
}

/**
 * The uncompressed size once known, a progress bar of compressed bytes while streaming; once the analysis
 * failed, the layer that failed says so and every other layer not read says it was stopped rather than
 * showing a bar that will never move.
 */
function sizeOrProgress(layer: LayerState, failed: boolean, failedHere: boolean): Segment {
  if (layer.summary) return seg(fitRight(formatSize(layer.summary.uncompressedSize), SIZE_WIDTH), 'plain');
  if (failedHere) return seg(fitRight('FAILED', SIZE_WIDTH), 'error');
  if (failed) return seg(fitRight('stopped', SIZE_WIDTH), 'dim');
  if (layer.status === 'waiting') return seg(fitRight('waiting', SIZE_WIDTH), 'dim');
  return seg(progressBar(layer.bytesRead, layer.compressedSize, SIZE_WIDTH), 'progress');
}

function numberWidth(state: TuiState): number {
  return Math.max(2, String(state.layers.length).length);
}

/**
 * Whether a row of a pane `width` columns wide shows the compressed size as well as the uncompressed one
 * (or the progress bar). Both take 21 columns: on an 80-column terminal they left a command five, `RUN a…`
 * on every row, and the command is what tells layers apart.
 */
function showsCompressed(state: TuiState, width: number): boolean {
  const sizes = 2 * SIZE_WIDTH + ' → '.length;
  return width - 1 - (numberWidth(state) + 1) - sizes - 1 >= MIN_COMMAND_COLUMNS;
}

/**
 * `Layers (13) · read 4/13  compressed → uncompressed` for a pane `width` columns wide (its title two
 * less), the explanation of the sizes dropped when it does not fit.
 */
export function layerTitle(state: TuiState, width: number): string {
  const done = state.layers.filter((layer) => layer.status === 'done').length;
  const count = state.layers.length;
  const streaming = done < count && !state.failure ? ` · read ${done}/${count}` : '';
  const title = `Layers (${count})${streaming}`;
  const columns = showsCompressed(state, width) ? '  compressed → uncompressed' : '  uncompressed';
  return title.length + columns.length <= width - 2 ? title + columns : title;
}

/**
 * One line per visible layer: number, compressed size (in a pane wide enough), uncompressed size (or
 * progress), command; the layer that failed gives why in place of its command (Details still shows the
 * command).
 */
export function layerLines(state: TuiState, height: number, width = Number.POSITIVE_INFINITY): Line[] {
  const number = numberWidth(state);
  const compressed = showsCompressed(state, width);
  return windowOf(state.layers, state.layerCursor, height).map((layer) => {
    const command = shortCommand(layer.command, Number.POSITIVE_INFINITY) || '—';
    const failure = layerFailure(state, layer);
    const row = listRow(
      line(
        `${String(layerNumber(layer.index)).padStart(number)} `,
        ...(compressed ? [fitRight(formatSize(layer.compressedSize), SIZE_WIDTH), seg(' → ', 'dim')] : []),
        sizeOrProgress(layer, state.failure !== undefined, failure !== undefined),
      ),
      layer.index === state.layerCursor.index,
    );
    if (failure === undefined) return { ...row, segments: [...row.segments, { text: ` ${command}` }] };
    // Cut here rather than at the pane's edge, which left a few letters of the reason.
    const reason = fittedReason(failure, width - columnsOf(lineText(row)) - 1);
    return reason ? { ...row, segments: [...row.segments, seg(` ${reason}`, 'error')] } : row;
  });
}
