/**
 * The bytes of one image summary: what a check reads of an image's analysis (AnalysisSummary), stored
 * under the image's manifest digest. The manifest names the config and every layer by digest, so the
 * summary is valid for exactly that manifest.
 *
 * Layout: the line "IMGSCOPE-SUMMARY", a JSON header line (versions, the manifest and layer digests, the
 * payload's length), the payload: the summary as JSON, and last the CRC-32 of all the bytes before it,
 * header included (checksum.ts). Nothing is used before the checksum matches, and the payload is checked
 * field by field against what a summary must hold and the layers the manifest lists.
 */
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/types.js';
import { LEFTOVER_KINDS } from '../findings.js';
import type { AnalysisSummary } from '../summary.js';
import { CHECKSUM_BYTES, checksumMatches, withChecksum } from './checksum.js';
import { UnusableEntryError } from './entry-format.js';

const MAGIC = 'IMGSCOPE-SUMMARY\n';
/** Bumped when the byte layout changes. */
export const SUMMARY_FORMAT = 2;
const MAX_HEADER_BYTES = 8 * 1024 * 1024;

export interface SummaryHeader {
  format: number;
  analyser: string;
  /** The manifest's digest. */
  digest: string;
  /** The digests of its layers, in order (what `cache prune` removes a summary with). */
  layers: string[];
  payloadBytes: number;
}

/** What a stored summary must match to be used. */
export interface ExpectedSummary {
  digest: Digest;
  analyser: string;
  layers: readonly Descriptor[];
}

const stale = (detail: string) => new UnusableEntryError('stale', detail);
const corrupt = (detail: string) => new UnusableEntryError('corrupt', detail);

/** The summary's bytes, header first. */
export function encodeSummary(digest: Digest, analyser: string, summary: AnalysisSummary): Uint8Array[] {
  const payload = Buffer.from(JSON.stringify(summary), 'utf8');
  const header: SummaryHeader = {
    format: SUMMARY_FORMAT,
    analyser,
    digest,
    layers: summary.layers.map((layer) => layer.digest),
    payloadBytes: payload.length,
  };
  return withChecksum([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, 'utf8'), payload]);
}

/** The header alone, checked for shape (not against an image): for listing and pruning. */
export function readSummaryHeader(bytes: Uint8Array): { header: SummaryHeader; payloadOffset: number } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < MAGIC.length || buffer.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw corrupt('not an imgscope image summary');
  const end = buffer.indexOf(0x0a, MAGIC.length);
  if (end < 0 || end - MAGIC.length > MAX_HEADER_BYTES) throw corrupt('truncated header');
  let header: unknown;
  try {
    header = JSON.parse(buffer.toString('utf8', MAGIC.length, end));
  } catch {
    throw corrupt('unreadable header');
  }
  if (!isHeader(header)) throw corrupt('incomplete header');
  return { header, payloadOffset: end + 1 };
}

/** Decodes a summary, or throws UnusableEntryError when it is not this image's summary by this analyser. */
export function decodeSummary(bytes: Uint8Array, expected: ExpectedSummary): AnalysisSummary {
  const { header, payloadOffset } = readSummaryHeader(bytes);
  if (header.format !== SUMMARY_FORMAT) throw stale(`summary format ${header.format}`);
  if (header.analyser !== expected.analyser) throw stale(`analyser ${header.analyser}`);
  if (header.digest !== expected.digest) throw corrupt(`summary of ${header.digest.slice(0, 80)}`);
  const payload = bytes.subarray(payloadOffset, bytes.length - CHECKSUM_BYTES);
  if (payload.length !== header.payloadBytes) throw corrupt('truncated or overlong');
  if (!checksumMatches(bytes)) throw corrupt('checksum mismatch');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    throw corrupt('unreadable payload');
  }
  const summary = asSummary(value);
  checkLayers(summary, header, expected.layers);
  return summary;
}

function isHeader(value: unknown): value is SummaryHeader {
  if (!isRecord(value)) return false;
  return (
    typeof value.format === 'number' &&
    typeof value.analyser === 'string' &&
    typeof value.digest === 'string' &&
    Array.isArray(value.layers) &&
    value.layers.every((digest) => typeof digest === 'string') &&
    isCount(value.payloadBytes)
  );
}

/** The layers a summary describes must be the manifest's, in its order, as its descriptors say. */
function checkLayers(summary: AnalysisSummary, header: SummaryHeader, layers: readonly Descriptor[]): void {
  if (summary.layers.length !== layers.length || header.layers.length !== layers.length)
    throw corrupt(`${summary.layers.length} layers, the manifest lists ${layers.length}`);
  layers.forEach((descriptor, index) => {
    const layer = summary.layers[index]!;
    if (
      layer.index !== index ||
      layer.digest !== descriptor.digest ||
      header.layers[index] !== descriptor.digest ||
      layer.mediaType !== descriptor.mediaType ||
      layer.compressedSize !== descriptor.size
    )
      throw corrupt(`layer ${index + 1} is not the manifest's`);
  });
  const layerOf = (index: number) => Number.isInteger(index) && index >= 0 && index < layers.length;
  const { findings, waste } = summary;
  if (
    !findings.leftovers.every((f) => f.layer === undefined || layerOf(f.layer)) ||
    !findings.deadBytes.every((group) => layerOf(group.layer)) ||
    !findings.largestFiles.every((file) => layerOf(file.layer)) ||
    !waste.inefficientFiles.every((file) => file.overwrittenBy.every((by) => layerOf(by.layer)))
  )
    throw corrupt('a layer index out of range');
}

/* Shape checks: a summary that passed its checksum was written by an imgscope, but maybe not this one. */

type Shape = (value: unknown) => boolean;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
const isNumber: Shape = (value) => typeof value === 'number' && Number.isFinite(value);
const isCount: Shape = (value) => Number.isSafeInteger(value) && (value as number) >= 0;
const isSize: Shape = (value) => isNumber(value) && (value as number) >= 0;
const isString: Shape = (value) => typeof value === 'string';
const isOneOf =
  (...values: readonly string[]): Shape =>
  (value) =>
    typeof value === 'string' && values.includes(value);
const isArrayOf =
  (item: Shape): Shape =>
  (value) =>
    Array.isArray(value) && value.every(item);
/** An object with these fields (the optional ones may be absent). */
const isObject =
  (fields: Record<string, Shape>, optional: Record<string, Shape> = {}): Shape =>
  (value) =>
    isRecord(value) &&
    Object.entries(fields).every(([key, shape]) => shape(value[key])) &&
    Object.entries(optional).every(([key, shape]) => value[key] === undefined || shape(value[key]));

const CHANGE = isOneOf('added', 'modified', 'removed');

const isLayerSummary = isObject({
  index: isCount,
  digest: isString,
  mediaType: isString,
  compression: isOneOf('gzip', 'zstd', 'none'),
  compressedSize: isSize,
  uncompressedSize: isSize,
  contentSize: isSize,
  createdBy: isString,
  fileCount: isCount,
  added: isCount,
  modified: isCount,
  removed: isCount,
  wastedBytes: isNumber,
});

const isWasteSummary = isObject(
  {
    contentSize: isNumber,
    userSize: isNumber,
    efficiency: isNumber,
    wastedBytes: isNumber,
    userWastedPercent: isNumber,
    reclaimableBytes: isNumber,
    inefficientFiles: isArrayOf(
      isObject({
        path: isString,
        count: isCount,
        wastedBytes: isNumber,
        reclaimableBytes: isNumber,
        overwrittenBy: isArrayOf(isObject({ layer: isCount, createdBy: isString, change: CHANGE })),
      }),
    ),
  },
  { inefficientFileCount: isCount },
);

const isPathBytes = isObject({ path: isString, bytes: isNumber });

const isFindings = isObject({
  leftovers: isArrayOf(
    isObject(
      {
        kind: isOneOf(...LEFTOVER_KINDS),
        path: isString,
        bytes: isNumber,
      },
      { layer: isCount },
    ),
  ),
  deadBytes: isArrayOf(
    isObject({
      layer: isCount,
      change: isOneOf('deleted', 'overwritten'),
      bytes: isNumber,
      largestPaths: isArrayOf(isPathBytes),
      pathCount: isCount,
      ownBytes: isSize,
    }),
  ),
  largestFiles: isArrayOf(isObject({ path: isString, bytes: isNumber, layer: isCount })),
});

const isSummary = isObject({
  layers: isArrayOf(isLayerSummary),
  waste: isWasteSummary,
  findings: isFindings,
});

function asSummary(value: unknown): AnalysisSummary {
  if (!isSummary(value)) throw corrupt('not a summary of this shape');
  return value as AnalysisSummary;
}
