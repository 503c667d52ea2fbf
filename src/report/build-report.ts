import type { Analysis } from '../analysis/types.js';
import { layerCommands as commandsFromHistory } from '../oci/history.js';
import { formatPlatform } from '../oci/platform.js';
import { type ImageSource, storedSizeOf } from '../oci/source.js';
import { type ImageFacts, indexPlatformsOf } from '../policy/facts.js';
import { VERSION } from '../version.js';
import { REPORT_VERSION, type Report, type ReportLayer } from './report.js';

/** How many inefficient files a report lists; the full list lives in the analysis. */
export const REPORT_INEFFICIENT_FILES = 50;

/** Config + layer blobs as stored: what a registry transfers and what platforms call "compressed". */

/** `repo@sha256:…` for registry references; undefined for local sources, which have no pullable name. */
export function pinnedReferenceOf(source: ImageSource): string | undefined {
  if (source.kind !== 'registry') return undefined;
  const name = source.reference.replace(/@sha256:[a-f0-9]{64}$/, '').replace(/:[^:/]+$/, '');
  return `${name}@${source.digest}`;
}

/** `createdBy` per layer from config.history, skipping `empty_layer` entries (ENV, CMD, …). */
export function layerCommands(source: ImageSource): string[] {
  return commandsFromHistory(source.config, source.layers.length);
}

function layersWithoutAnalysis(source: ImageSource): ReportLayer[] {
  const commands = layerCommands(source);
  return source.layers.map((layer, index) => ({
    index,
    digest: layer.digest,
    mediaType: layer.mediaType,
    compression: layer.mediaType.includes('zstd')
      ? 'zstd'
      : layer.mediaType.includes('gzip')
        ? 'gzip'
        : 'none',
    compressedSize: layer.size,
    uncompressedSize: 0,
    contentSize: 0,
    createdBy: commands[index] ?? '',
    fileCount: 0,
    added: 0,
    modified: 0,
    removed: 0,
    wastedBytes: 0,
  }));
}

/**
 * Builds the report from what the source knows and, when layers were streamed, the analysis (its
 * layers and waste: a cached image summary serves as well).
 */
export function buildReport(
  source: ImageSource,
  analysis: Pick<Analysis, 'layers' | 'waste'> | undefined,
): Report {
  const report: Report = {
    reportVersion: REPORT_VERSION,
    tool: { name: 'imgscope', version: VERSION },
    reference: source.reference,
    digest: source.digest,
    mediaType: source.mediaType,
    schema: source.schema,
    platform: formatPlatform(source.platform),
    compressedSize: storedSizeOf(source),
    uncompressedSize: 0,
    layerCount: source.layers.length,
    layers: analysis ? analysis.layers.map((layer) => ({ ...layer })) : layersWithoutAnalysis(source),
    layersAnalyzed: analysis !== undefined,
  };
  const pinned = pinnedReferenceOf(source);
  if (pinned) report.pinnedReference = pinned;
  if (source.index) {
    report.index = {
      digest: source.index.digest,
      mediaType: source.index.mediaType,
      platforms: indexPlatformsOf(source.index).map(formatPlatform),
    };
  }
  if (analysis) {
    const { waste } = analysis;
    report.uncompressedSize = analysis.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0);
    report.contentSize = waste.contentSize;
    report.efficiency = waste.efficiency;
    report.wastedBytes = waste.wastedBytes;
    report.userSize = waste.userSize;
    report.userWastedPercent = waste.userWastedPercent;
    report.reclaimableBytes = waste.reclaimableBytes;
    report.deadBytes = analysis.layers.reduce((sum, layer) => sum + layer.wastedBytes, 0);
    report.inefficientFiles = waste.inefficientFiles.slice(0, REPORT_INEFFICIENT_FILES).map((file) => ({
      path: file.path,
      count: file.count,
      wastedBytes: file.wastedBytes,
      reclaimableBytes: file.reclaimableBytes,
      overwrittenBy: file.overwrittenBy,
    }));
    report.inefficientFileCount = waste.inefficientFileCount ?? waste.inefficientFiles.length;
  }
  return report;
}

/** A report for a reference that resolved to no image (an index without the wanted platform). */
export function reportWithoutImage(facts: ImageFacts): Report {
  return {
    reportVersion: REPORT_VERSION,
    tool: { name: 'imgscope', version: VERSION },
    reference: facts.reference,
    digest: facts.digest,
    mediaType: facts.mediaType,
    schema: facts.schema,
    platform: '',
    index: {
      digest: facts.digest,
      mediaType: facts.mediaType,
      platforms: (facts.indexPlatforms ?? []).map(formatPlatform),
    },
    compressedSize: 0,
    uncompressedSize: 0,
    layerCount: 0,
    layers: [],
    layersAnalyzed: false,
  };
}
