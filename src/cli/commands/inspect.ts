import { PlatformNotFoundError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { isIndexMediaType, manifestSchemaOf } from '../../oci/media-types.js';
import { DEFAULT_PLATFORM, formatPlatform, parsePlatform } from '../../oci/platform.js';
import { type ImageSource, type ResolvedIndex, storedSize } from '../../oci/source.js';
import type { Descriptor, UnusableEntry } from '../../oci/types.js';
import { formatSize, uncountedNote } from '../../policy/sizes.js';
import { layerCommands, pinnedReferenceOf } from '../../report/build-report.js';
import { truncateEnd } from '../../report/fit-table.js';
import { counted, layerNumber, printable, shortCommand } from '../../report/format.js';
import { imageArgument, type ParsedArgs } from '../args.js';
import { openImage } from '../open-image.js';
import { type Output, terminalWidth } from '../output.js';
import { progressLineFor } from '../progress.js';
import { removingTempFilesOnSignal } from '../quit-signals.js';

interface IndexInfo {
  digest: string;
  mediaType: string;
  annotations: Record<string, string>;
  /** The platform an image was picked for: --platform, else linux/amd64, as check picks. */
  wantedPlatform: string;
  manifests: {
    digest: string;
    mediaType: string;
    size: number;
    platform: string | null;
    osVersion: string | null;
    annotations: Record<string, string>;
    selected: boolean;
  }[];
}

/** What `inspect --json` prints. `platform`, `config` and the sizes are null for an index with no image picked. */
interface InspectInfo {
  reference: string;
  digest: string;
  pinnedReference: string | null;
  mediaType: string;
  schema: string;
  platform: string | null;
  annotations: Record<string, string>;
  index: IndexInfo | null;
  config: {
    digest: string;
    size: number;
    os: string;
    architecture: string;
    variant: string | null;
    created: string | null;
    entrypoint: string[] | null;
    cmd: string[] | null;
    workingDir: string | null;
    user: string | null;
    exposedPorts: string[];
    envCount: number;
    labels: Record<string, string>;
  } | null;
  layers: { index: number; digest: string; mediaType: string; size: number; createdBy: string }[];
  compressedSize: number | null;
  uncountedBytes: { foreign: number; repeated: number } | null;
}

/** The entries of an index in its order, those named by a sha512 digest (never read) included. */
function listedEntries(index: ResolvedIndex): (Descriptor | UnusableEntry)[] {
  const entries: (Descriptor | UnusableEntry)[] = [...index.manifests];
  for (const entry of [...(index.unusable ?? [])].reverse()) entries.splice(entry.position, 0, entry);
  return entries;
}

/** Every entry of an index, as `docker buildx imagetools inspect` lists them, and which one was picked. */
function describeIndex(index: ResolvedIndex, wanted: string): IndexInfo {
  return {
    digest: index.digest,
    mediaType: index.mediaType,
    annotations: index.annotations ?? {},
    wantedPlatform: wanted,
    manifests: listedEntries(index).map((m) => ({
      digest: m.digest,
      mediaType: m.mediaType,
      size: m.size,
      platform: m.platform ? formatPlatform(m.platform) : null,
      osVersion: m.platform?.['os.version'] ?? null,
      annotations: m.annotations ?? {},
      selected: m === index.selected,
    })),
  };
}

/** Everything known from the manifest and config, no layer read. */
function describeImage(source: ImageSource, wanted: string): InspectInfo {
  const config = source.config.config ?? {};
  const commands = layerCommands(source);
  const stored = storedSize(source);
  return {
    reference: source.reference,
    digest: source.digest,
    pinnedReference: pinnedReferenceOf(source) ?? null,
    mediaType: source.mediaType,
    schema: source.schema,
    platform: formatPlatform(source.platform),
    annotations: source.manifest.annotations ?? {},
    index: source.index ? describeIndex(source.index, wanted) : null,
    config: {
      digest: source.configDescriptor.digest,
      size: source.configDescriptor.size,
      os: source.config.os,
      architecture: source.config.architecture,
      variant: source.config.variant ?? null,
      created: source.config.created ?? null,
      entrypoint: config.Entrypoint ?? null,
      cmd: config.Cmd ?? null,
      workingDir: config.WorkingDir || null,
      user: config.User || null,
      exposedPorts: Object.keys(config.ExposedPorts ?? {}),
      envCount: (config.Env ?? []).length,
      labels: config.Labels ?? {},
    },
    layers: source.layers.map((layer, index) => ({
      index,
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      createdBy: commands[index] ?? '',
    })),
    compressedSize: stored.bytes,
    uncountedBytes: { foreign: stored.foreignBytes, repeated: stored.repeatedBytes },
  };
}

/**
 * An index with no image for the platform: its entries, and no image (`platform`, `config` and sizes
 * null). The digest is the index's, as in check's report of such an index.
 */
function describeIndexOnly(reference: string, index: ResolvedIndex, wanted: string): InspectInfo {
  return {
    reference,
    digest: index.digest,
    pinnedReference: null,
    mediaType: index.mediaType,
    schema: manifestSchemaOf(index.mediaType),
    platform: null,
    annotations: {},
    index: describeIndex(index, wanted),
    config: null,
    layers: [],
    compressedSize: null,
    uncountedBytes: null,
  };
}

/** Index, size and digest take 32 columns of a layer line; the command gets the rest, 50 at most. */
const LAYER_LINE_FIXED = 32;

/**
 * A value from the image in the table is cut to this many columns, and a list to this many items: a
 * crafted or generated config (a README in an annotation, thousands of labels) must not print megabyte
 * lines. `--json` keeps every value whole.
 */
const VALUE_WIDTH = 200;
const LISTED_ITEMS = 20;
/** Widest platform column of the index listing: every entry line is padded to it. */
const PLATFORM_COLUMN = 48;

/** `text` made printable and cut to `width` columns; printable first, so an escape is never cut in half. */
function shown(text: string, width = VALUE_WIDTH): string {
  return truncateEnd(printable(text), width);
}

/** Items joined by commas, each cut, at most LISTED_ITEMS of them. */
function listText(items: string[]): string {
  const listed = items.slice(0, LISTED_ITEMS).map((item) => shown(item));
  const more = items.length - listed.length;
  return more > 0 ? `${listed.join(', ')}, … ${more} more (--json lists them all)` : listed.join(', ');
}

function annotationsText(annotations: Record<string, string>): string {
  return listText(Object.entries(annotations).map(([k, v]) => `${k}=${v}`));
}

/** One line per index entry: platform (with a Windows entry's os.version), size, digest, and the pick. */
function indexLines(index: NonNullable<InspectInfo['index']>): string[] {
  const attestation = (m: (typeof index.manifests)[number]) =>
    m.annotations['vnd.docker.reference.type'] === 'attestation-manifest';
  const labels = index.manifests
    .map((m) =>
      [m.platform ?? 'no platform', m.osVersion, attestation(m) ? '(attestation)' : null]
        .filter(Boolean)
        .join(' '),
    )
    .map((label) => shown(label, PLATFORM_COLUMN));
  const width = Math.max(...labels.map((label) => label.length));
  const lines = index.manifests.map(
    (m, i) =>
      `            ${labels[i]!.padEnd(width)}  ${formatSize(m.size).padStart(9)}  ${shown(m.digest)}${m.selected ? '  ← selected' : ''}`,
  );
  const noted = annotationsText(index.annotations);
  return noted ? [...lines, `            annotations: ${noted}`] : lines;
}

function renderInspect(info: InspectInfo, width: number): string {
  const lines = [`Image       ${info.reference}`, `Digest      ${info.digest}`];
  if (info.pinnedReference) lines.push(`Deploy as   ${info.pinnedReference}`);
  lines.push(`Media type  ${info.mediaType} (${info.schema})`);
  if (info.platform !== null) lines.push(`Platform    ${info.platform}`);
  else {
    lines.push(
      `Platform    none: the index has no ${info.index?.wantedPlatform} image for check to take (name one with --platform os/arch[/variant])`,
    );
  }
  if (info.index) {
    const entries = counted(info.index.manifests.length, 'entry', 'entries');
    lines.push(`Index       ${info.index.digest} (${info.index.mediaType}), ${entries}`);
    lines.push(...indexLines(info.index));
  }
  const c = info.config;
  if (!c) return `${lines.map(printable).join('\n')}\n`;
  const annotations = annotationsText(info.annotations);
  if (annotations) lines.push(`Annotations ${annotations}`);
  lines.push(`Created     ${c.created === null ? '—' : shown(c.created)}`);
  lines.push(`Entrypoint  ${c.entrypoint ? shown(JSON.stringify(c.entrypoint)) : '—'}`);
  lines.push(`Cmd         ${c.cmd ? shown(JSON.stringify(c.cmd)) : '—'}`);
  lines.push(`Ports       ${listText(c.exposedPorts) || '—'}`);
  lines.push(`Env         ${counted(c.envCount, 'variable', 'variables')}`);
  const labels = Object.entries(c.labels);
  lines.push(`Labels      ${labels.length ? listText(labels.map(([k, v]) => `${k}=${v}`)) : '—'}`);
  lines.push(
    `Layers      ${info.layers.length}, ${formatSize(info.compressedSize ?? 0)} compressed (config included${uncountedNote(info.uncountedBytes ?? undefined)})`,
  );
  const commandWidth = Math.max(10, Math.min(50, width - LAYER_LINE_FIXED));
  for (const layer of info.layers) {
    const command = truncateEnd(shortCommand(layer.createdBy, Number.POSITIVE_INFINITY), commandWidth);
    lines.push(
      `  ${String(layerNumber(layer.index)).padStart(2)}  ${formatSize(layer.size).padStart(10)}  ${layer.digest.slice(7, 19)}  ${command}`,
    );
  }
  // Created, ports, labels, annotations and commands come from the image: their control characters are
  // shown as `\x1b`, as check's formats show them, so a crafted config cannot drive the terminal.
  return `${lines.map(printable).join('\n')}\n`;
}

/**
 * The image, or, when the reference names an index with no linux/amd64 image, the index alone: inspect
 * lists what an index offers rather than refusing it, as `crane manifest` and
 * `docker buildx imagetools inspect` do. A platform asked for with --platform that the index lacks stays
 * refused (its message lists what the index has), as `crane manifest --platform` refuses it, and so does
 * a single-platform image of another platform.
 */
async function inspected(image: string, args: ParsedArgs, io: Output): Promise<InspectInfo> {
  const wanted = formatPlatform(
    args.options.platform ? parsePlatform(args.options.platform) : DEFAULT_PLATFORM,
  );
  let source: ImageSource;
  // The indexing of a compressed archive may take minutes: shown as check shows it.
  const progress = progressLineFor(io);
  try {
    // Interrupted, the progress line is erased, as check erases it: the shell's prompt would follow it.
    source = await removingTempFilesOnSignal(
      () =>
        openImage(image, args.options, progress ? progress.sharing(io) : io, undefined, {
          onIndexProgress: progress && ((...read) => progress.indexing(...read)),
        }),
      () => progress?.clear(),
    );
  } catch (error) {
    if (
      args.options.platform !== undefined ||
      !(error instanceof PlatformNotFoundError) ||
      !isIndexMediaType(error.index.mediaType) ||
      !error.index.digest
    ) {
      throw error;
    }
    const index = { ...error.index, digest: parseDigest(error.index.digest, image) };
    return describeIndexOnly(error.image?.reference ?? image, index, wanted);
  } finally {
    progress?.clear();
  }
  try {
    return describeImage(source, wanted);
  } finally {
    await source.close();
  }
}

/** `imgscope inspect IMAGE`: manifest, config and layer list without downloading any layer. */
export async function runInspect(args: ParsedArgs, io: Output): Promise<number> {
  const info = await inspected(imageArgument(args), args, io);
  io.stdout.write(
    args.options.json ? `${JSON.stringify(info, null, 2)}\n` : renderInspect(info, terminalWidth(io.stdout)),
  );
  return 0;
}
