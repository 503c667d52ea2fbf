import type { Analysis, InefficientFile, LayerSummary } from '../../analysis/types.js';
import type { Report } from '../../report/report.js';
import type { ChangeMark, ChangeToggles, CollapseState, FileRows } from '../view-model/file-rows.js';
import { ALL_CHANGES, ALL_EXPANDED } from '../view-model/file-rows.js';
import type { Viewport } from '../view-model/layout.js';
import { type ListCursor, TOP } from '../view-model/list-cursor.js';

export type PaneId = 'layers' | 'details' | 'files';
export const PANES: readonly PaneId[] = ['layers', 'files', 'details'];

/** What the Files pane shows for the selected layer. */
export type TreeMode = 'layer' | 'image';

export type LayerStatus = 'waiting' | 'streaming' | 'done';

export interface LayerState {
  readonly index: number;
  readonly digest: string;
  readonly compressedSize: number;
  readonly command: string;
  readonly status: LayerStatus;
  /** Compressed bytes read so far while streaming. */
  readonly bytesRead: number;
  readonly summary: LayerSummary | undefined;
}

/** Facts known as soon as the manifest is: the header and the Details pane start from these. */
export interface ImageFacts {
  readonly reference: string;
  readonly digest: string;
  readonly platform: string;
  readonly schema: string;
}

export interface FilesState {
  readonly mode: TreeMode;
  readonly wasteView: boolean;
  readonly filterText: string;
  /** The filter text the rows and the waste list were built for: behind filterText while a key waits. */
  readonly appliedFilterText: string;
  /** The filter prompt has the keyboard. */
  readonly editingFilter: boolean;
  readonly changes: ChangeToggles;
  readonly collapse: CollapseState;
  /** Undefined until the analysis (and with it the file model) is complete. */
  readonly rows: FileRows | undefined;
  readonly cursor: ListCursor;
  readonly waste: readonly InefficientFile[];
  readonly wasteCursor: ListCursor;
}

export interface AnalysisFailure {
  readonly message: string;
  readonly hint: string | undefined;
  /** The layer whose reading failed (corrupt blob, digest mismatch); the others were only stopped. */
  readonly layer: number | undefined;
}

export interface RegistryWaitState {
  /** Who asked to wait: the registry, or the blob storage it redirects to. */
  readonly host: string;
  readonly status: number;
  /** The whole seconds left, counted down as they pass. */
  readonly seconds: number;
  readonly until: number;
}

export interface TuiState {
  readonly image: ImageFacts;
  readonly layers: readonly LayerState[];
  readonly analysis: Analysis | undefined;
  readonly report: Report | undefined;
  /** The report reflects the finished analysis (not only the manifest-level checks). */
  readonly reportFinal: boolean;
  readonly failure: AnalysisFailure | undefined;
  /** A wait the registry asked for (429 or 503 with Retry-After), until `until` (epoch ms). */
  readonly registryWait: RegistryWaitState | undefined;
  readonly focus: PaneId;
  readonly layerCursor: ListCursor;
  readonly detailsScroll: number;
  readonly files: FilesState;
  readonly help: boolean;
  /** The help's top line, when it is taller than the screen. */
  readonly helpScroll: number;
  readonly viewport: Viewport;
}

export interface InitialFacts {
  image: ImageFacts;
  layers: readonly { digest: string; size: number; command: string }[];
  report: Report | undefined;
  viewport: Viewport;
}

export function initialState(facts: InitialFacts): TuiState {
  return {
    image: facts.image,
    layers: facts.layers.map((layer, index) => ({
      index,
      digest: layer.digest,
      compressedSize: layer.size,
      command: layer.command,
      status: 'waiting',
      bytesRead: 0,
      summary: undefined,
    })),
    analysis: undefined,
    report: facts.report,
    reportFinal: false,
    failure: undefined,
    registryWait: undefined,
    focus: 'layers',
    layerCursor: TOP,
    detailsScroll: 0,
    files: {
      mode: 'layer',
      wasteView: false,
      filterText: '',
      appliedFilterText: '',
      editingFilter: false,
      changes: ALL_CHANGES,
      collapse: ALL_EXPANDED,
      rows: undefined,
      cursor: TOP,
      waste: [],
      wasteCursor: TOP,
    },
    help: false,
    helpScroll: 0,
    viewport: facts.viewport,
  };
}

export type Action =
  // From the analysis
  | { type: 'layer-started'; layer: number }
  | { type: 'layers-progressed'; progress: readonly { layer: number; bytesRead: number }[] }
  | { type: 'layer-finished'; summary: LayerSummary }
  | { type: 'analysis-finished'; analysis: Analysis }
  | { type: 'analysis-failed'; message: string; hint: string | undefined; layer?: number }
  | { type: 'report-updated'; report: Report; final: boolean }
  // From the registry: a Retry-After wait begins, then is over (unless a later one replaced it)
  | { type: 'registry-waiting'; wait: RegistryWaitState }
  | { type: 'registry-wait-ticked'; until: number; seconds: number }
  | { type: 'registry-wait-over'; until: number }
  // From the terminal
  | { type: 'resized'; viewport: Viewport }
  // From the keyboard
  | { type: 'focus-cycled'; step: 1 | -1 }
  | { type: 'cursor-moved'; delta: number }
  | { type: 'cursor-paged'; pages: number }
  | { type: 'cursor-jumped'; to: 'start' | 'end' }
  | { type: 'directory-toggled' }
  | { type: 'all-directories-toggled' }
  | { type: 'change-toggled'; change: ChangeMark }
  | { type: 'tree-mode-toggled' }
  | { type: 'waste-view-toggled' }
  | { type: 'filter-opened' }
  // `deferred`: change the prompt's text only; 'filter-applied' brings the rows up to it (one walk for a
  // burst of keys, and the frame that echoes a key does not wait for the walk).
  | { type: 'filter-typed'; text: string; deferred?: boolean }
  | { type: 'filter-erased'; deferred?: boolean }
  | { type: 'filter-applied' }
  | { type: 'filter-closed'; keep: boolean }
  | { type: 'help-toggled' };
