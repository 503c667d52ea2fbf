import { formatPlatform } from '../../oci/platform.js';
import { type ImageSource, storedSize } from '../../oci/source.js';
import { formatSize, uncountedNote } from '../../policy/sizes.js';
import { layerCommands, pinnedReferenceOf } from '../../report/build-report.js';
import { truncateEnd } from '../../report/fit-table.js';
import { counted, layerNumber, printable, shortCommand } from '../../report/format.js';
import { imageArgument, type ParsedArgs } from '../args.js';
import { openImage } from '../open-image.js';
import { type Output, terminalWidth } from '../output.js';

/** What `inspect --json` prints: everything known from the manifest and config, no layer read. */
export function describeImage(source: ImageSource) {
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
    index: source.index
      ? {
          digest: source.index.digest,
          mediaType: source.index.mediaType,
          manifests: source.index.manifests.map((m) => ({
            digest: m.digest,
            mediaType: m.mediaType,
            size: m.size,
            platform: m.platform ? formatPlatform(m.platform) : null,
          })),
        }
      : null,
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

/** Index, size and digest take 32 columns of a layer line; the command gets the rest, 50 at most. */
const LAYER_LINE_FIXED = 32;

function renderInspect(info: ReturnType<typeof describeImage>, width: number): string {
  const lines = [
    `Image       ${info.reference}`,
    `Digest      ${info.digest}`,
    ...(info.pinnedReference ? [`Deploy as   ${info.pinnedReference}`] : []),
    `Media type  ${info.mediaType} (${info.schema})`,
    `Platform    ${info.platform}`,
  ];
  if (info.index) {
    lines.push(`Index       ${info.index.digest} (${info.index.mediaType})`);
    for (const m of info.index.manifests) lines.push(`            ${m.platform ?? 'unknown'}  ${m.digest}`);
  }
  const c = info.config;
  lines.push(`Created     ${c.created ?? '—'}`);
  lines.push(`Entrypoint  ${c.entrypoint ? JSON.stringify(c.entrypoint) : '—'}`);
  lines.push(`Cmd         ${c.cmd ? JSON.stringify(c.cmd) : '—'}`);
  lines.push(`Ports       ${c.exposedPorts.join(', ') || '—'}`);
  lines.push(`Env         ${counted(c.envCount, 'variable', 'variables')}`);
  const labels = Object.entries(c.labels);
  lines.push(`Labels      ${labels.length ? labels.map(([k, v]) => `${k}=${v}`).join(', ') : '—'}`);
  lines.push(
    `Layers      ${info.layers.length}, ${formatSize(info.compressedSize)} compressed (config included${uncountedNote(info.uncountedBytes)})`,
  );
  const commandWidth = Math.max(10, Math.min(50, width - LAYER_LINE_FIXED));
  for (const layer of info.layers) {
    const command = truncateEnd(shortCommand(layer.createdBy, Number.POSITIVE_INFINITY), commandWidth);
    lines.push(
      `  ${String(layerNumber(layer.index)).padStart(2)}  ${formatSize(layer.size).padStart(10)}  ${layer.digest.slice(7, 19)}  ${command}`,
    );
  }
  // Created, ports, labels and commands come from the image: their control characters are shown as
  // `\x1b`, as check's formats show them, so a crafted config cannot drive the terminal.
  return `${lines.map(printable).join('\n')}\n`;
}

/** `imgscope inspect IMAGE`: manifest, config and layer list without downloading any layer. */
export async function runInspect(args: ParsedArgs, io: Output): Promise<number> {
  const source = await openImage(imageArgument(args), args.options, io);
  try {
    const info = describeImage(source);
    io.stdout.write(
      args.options.json
        ? `${JSON.stringify(info, null, 2)}\n`
        : renderInspect(info, terminalWidth(io.stdout)),
    );
    return 0;
  } finally {
    await source.close();
  }
}
