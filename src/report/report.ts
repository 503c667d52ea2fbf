/**
 * The `Report`: everything `check` decided about one image, as the JSON output carries it. Renderers
 * (table, markdown, github, the TUI's details pane) are pure functions of it. Bump REPORT_VERSION on any
 * change a consumer could notice; the JSON Schema in `schema/report.schema.json` describes it.
 */
export const REPORT_VERSION = 2;

export interface ReportLayer {
  index: number;
  digest: string;
  mediaType: string;
  compression: 'gzip' | 'zstd' | 'none';
  compressedSize: number;
  uncompressedSize: number;
  contentSize: number;
  createdBy: string;
  fileCount: number;
  added: number;
  modified: number;
  removed: number;
  wastedBytes: number;
}

export interface ReportInefficientFile {
  path: string;
  count: number;
  wastedBytes: number;
  reclaimableBytes: number;
  overwrittenBy: { layer: number; createdBy: string; change: 'added' | 'modified' | 'removed' }[];
}

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One finding behind a check (a cache left in the image, a layer that deleted files, a large file). */
export interface CheckDetail {
  /** What was found: `apt-lists`, `pip-cache`, `vcs`, `deleted`, `overwritten`, `largest-file`, … */
  kind: string;
  message: string;
  path?: string;
  bytes?: number;
  /** Layer the finding is attributed to, with its command. */
  layer?: number;
  createdBy?: string;
}

export interface CheckResult {
  id: string;
  status: CheckStatus;
  actual?: string | number | boolean | null;
  limit?: string | number | boolean | null;
  message: string;
  hint?: string;
  /** Findings behind the result, largest first (the `hints` check lists them here). */
  details?: CheckDetail[];
}

export interface Report {
  reportVersion: number;
  tool: { name: 'imgscope'; version: string };
  reference: string;
  /** Manifest digest of the selected image. */
  digest: string;
  /** `name@sha256:…` for registry images: the line to deploy with. */
  pinnedReference?: string;
  mediaType: string;
  schema: string;
  platform: string;
  /** Index the image was selected from, when the reference named one. */
  index?: { digest: string; mediaType: string; platforms: string[] };
  /** Config + layer blobs as stored. */
  compressedSize: number;
  /** Σ uncompressed layer tar streams. */
  uncompressedSize: number;
  layerCount: number;
  layers: ReportLayer[];
  /**
   * False when layer contents were not streamed (`--no-layers`, or the manifest-level checks already
   * failed): then the fields below are absent and per-layer content figures are 0.
   */
  layersAnalyzed: boolean;
  /** Σ layer content sizes: dive's image size. */
  contentSize?: number;
  efficiency?: number;
  /** dive's figure: every copy of a path touched by 2+ layers, the surviving one included. */
  wastedBytes?: number;
  userSize?: number;
  userWastedPercent?: number;
  /** Per path, Σ(cumulative − the copy that survives, 0 if none): dive's inefficiency list without that copy. */
  reclaimableBytes?: number;
  /**
   * Bytes the layers ship that the final filesystem no longer has (deleted or overwritten by a later
   * layer, directory whiteouts and opaque directories included): what squashing drops, but for a copy a
   * layer shadows within itself (a path it lists twice), which is not counted.
   */
  deadBytes?: number;
  /** The first REPORT_INEFFICIENT_FILES inefficient paths, largest dive waste first. */
  inefficientFiles?: ReportInefficientFile[];
  /** How many paths are inefficient in all: `inefficientFiles` lists at most the first 50. */
  inefficientFileCount?: number;
  // Added by policy evaluation.
  profile?: string;
  tier?: { name: string; imageSize: number; recommendedMemory: string } | null;
  checks?: CheckResult[];
  verdict?: 'pass' | 'warn' | 'fail';
}
