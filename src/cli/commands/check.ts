import {
  type AnalyzeOptions,
  analyzeImage,
  DEFAULT_MAX_UNCOMPRESSED_BYTES,
  layerCommands,
} from '../../analysis/analyze.js';
import { LocalBlobs } from '../../analysis/cache/local-blobs.js';
import { type AnalysisSummary, summarizeAnalysis, summaryOf } from '../../analysis/summary.js';
import type { Analysis } from '../../analysis/types.js';
import { ImgscopeError, PlatformNotFoundError } from '../../errors.js';
import { parseDigest } from '../../oci/digest.js';
import { isLocalReference } from '../../oci/local/index.js';
import { manifestSchemaOf } from '../../oci/media-types.js';
import type { ImageSource } from '../../oci/source.js';
import {
  evaluate,
  evaluateManifest,
  exitCodeOf,
  type ImageFacts,
  imageFactsOf,
  indexOnlyFacts,
  needsLayers,
  type Policy,
  platformCheck,
  resolvePolicy,
  tierOf,
} from '../../policy/index.js';
import { buildReport, REPORT_INEFFICIENT_FILES, reportWithoutImage } from '../../report/build-report.js';
import { type ReportFormat, renderReport } from '../../report/render.js';
import type { Report } from '../../report/report.js';
import {
  decompressionLimit,
  imageArgument,
  type ParsedArgs,
  policyFlagsOf,
  positiveInteger,
} from '../args.js';
import { openImage, policyReference } from '../open-image.js';
import { colorEnabled, type Output, terminalWidth } from '../output.js';
import { type ProgressLine, progressLineFor } from '../progress.js';
import { removingTempFilesOnSignal } from '../quit-signals.js';
import { type AnalysisCaches, checkCachesOf, refuseEmptyCacheDir } from './cache.js';

const FORMATS = ['table', 'json', 'markdown', 'github'] as const satisfies readonly ReportFormat[];
type Format = (typeof FORMATS)[number];

function formatOf(args: ParsedArgs): Format {
  const format = args.options.json ? 'json' : (args.options.format ?? 'table');
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new ImgscopeError('BAD_INPUT', `--format "${format}" is not one of ${FORMATS.join(', ')}`, {
      hint: 'use --format table (default), json, markdown or github',
    });
  }
  return format as Format;
}

async function streamLayers(
  source: ImageSource,
  options: AnalyzeOptions,
  caches: AnalysisCaches | undefined,
  progress: ProgressLine | undefined,
): Promise<Analysis> {
  // Every listed layer is streamed, a repeated one too: the total counts listings, not stored blobs.
  const listedBytes = source.layers.reduce((sum, layer) => sum + layer.size, 0);
  progress?.start(source.layers.length, listedBytes);
  try {
    return await analyzeImage(
      source,
      { ...options, cache: caches?.layers, fingerprints: caches?.fingerprints },
      progress ? (event) => progress.update(event) : undefined,
    );
  } finally {
    progress?.clear();
  }
}

/** The analysis options, validated before any image is opened (bad input fails whether layers are read or not). */
function analyzeOptionsOf(args: ParsedArgs, io: Output): AnalyzeOptions {
  return {
    concurrency: positiveInteger(args.options.concurrency, '--concurrency'),
    maxUncompressedBytes: decompressionLimit(io.env),
  };
}

/**
 * The analysis summary of the image: read from the cache when the image (its manifest digest), or one
 * with the same layers and layer commands, was analysed before — no layer is then decompressed, and of an
 * image on disk only the blobs whose files changed since they were verified are hashed — else analysed
 * (layers from the layer cache where it has them) and stored once the whole analysis succeeded, so never
 * from unverified bytes.
 */
async function analysedImage(
  source: ImageSource,
  args: ParsedArgs,
  io: Output,
  progress: ProgressLine | undefined,
): Promise<AnalysisSummary> {
  const options = analyzeOptionsOf(args, io);
  const caches = checkCachesOf(args.options, io);
  try {
    const image = {
      digest: source.digest,
      layers: source.layers,
      commands: layerCommands(source.config, source.layers.length),
      diffIds: source.config.rootfs.diff_ids,
    };
    const guard = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
    const cached = await caches?.summaries.get(image, guard);
    if (cached) {
      await new LocalBlobs(source, caches?.fingerprints).confirmAll(source.layers);
      // Only now: a summary is never stored for blobs not verified.
      if (cached.twin) caches?.summaries.adopt(source.digest, cached.summary);
      return cached.summary;
    }
    const summary = summarizeAnalysis(await streamLayers(source, options, caches, progress));
    caches?.summaries.put(source.digest, storedSummary(summary), image.diffIds);
    return summary;
  } finally {
    await caches?.layers.flush();
    await caches?.summaries.flush();
    await caches?.fingerprints.flush();
  }
}

/** What is stored of a summary: the report lists only the first inefficient files, and no check reads them. */
function storedSummary(summary: AnalysisSummary): AnalysisSummary {
  const { waste } = summary;
  if (waste.inefficientFiles.length <= REPORT_INEFFICIENT_FILES) return summary;
  return {
    ...summary,
    waste: {
      ...waste,
      inefficientFiles: waste.inefficientFiles.slice(0, REPORT_INEFFICIENT_FILES),
      inefficientFileCount: waste.inefficientFiles.length,
    },
  };
}

/** The report with the policy's checks, verdict, profile and memory tier added. */
export function withPolicy(
  report: Report,
  facts: ImageFacts,
  analysis: Analysis | AnalysisSummary | undefined,
  policy: Policy,
  reason: string,
): Report {
  const { checks, verdict } = evaluate(facts, analysis && summaryOf(analysis), policy, reason);
  return { ...report, profile: policy.profile.name, tier: tierOf(facts, policy), checks, verdict };
}

/**
 * Why `check` did not stream the layers: `reason` is what the skipped checks say, `note` what the report
 * says under the layer table (with the way to get the figures).
 */
export interface LayersSkipped {
  reason: string;
  note: string;
}

const SKIPPED_BY_FLAG: LayersSkipped = {
  reason: '--no-layers',
  note: 'run without --no-layers for efficiency and waste',
};
const SKIPPED_AFTER_FAILURE: LayersSkipped = {
  reason: 'the manifest-level checks already failed the verdict (use --full)',
  note: 'the manifest-level checks already failed the verdict; use --full for efficiency and waste',
};
/** The same, for the explorer's summary off a terminal: the explorer takes no --full. */
const SKIPPED_AFTER_FAILURE_EXPLORER: LayersSkipped = {
  reason: 'the manifest-level checks already failed the verdict (use imgscope check --full)',
  note: 'the manifest-level checks already failed the verdict; use imgscope check --full for efficiency and waste',
};
const NO_IMAGE: LayersSkipped = {
  reason: 'the index has no image for this platform',
  note: 'the index has no image for this platform',
};

/**
 * Decides the report for one image: manifest-level checks first; layers streamed only when they can
 * still change the verdict (or `--full`), never with `--no-layers`. `skipped` says why when they were not.
 */
export async function decide(
  image: string,
  args: ParsedArgs,
  io: Output,
  policy: Policy,
  progress?: ProgressLine,
): Promise<{ report: Report; skipped?: LayersSkipped }> {
  const { options } = args;
  refuseEmptyCacheDir(options);
  let source: ImageSource;
  try {
    source = await openImage(image, options, io, policy.platform, {
      onIndexProgress: progress && ((...read) => progress.indexing(...read)),
    });
  } catch (error) {
    // An index without the default platform is a verdict (the platform check fails and lists what the
    // index has); a platform the user asked for by name and did not get stays an error.
    const asked = options.platform ?? policy.platform?.value;
    if (!(error instanceof PlatformNotFoundError) || !error.index.digest || asked) throw error;
    const facts = indexOnlyFacts({
      reference: error.image?.reference ?? image,
      kind: error.image?.kind ?? (isLocalReference(image) ? 'oci-layout' : 'registry'),
      index: { ...error.index, digest: parseDigest(error.index.digest, image) },
      schema: manifestSchemaOf(error.index.mediaType),
    });
    // Only a profile the index fails decides it; otherwise no image was checked and none may pass.
    if (platformCheck(facts, policy)?.status !== 'fail') throw error;
    const report = withPolicy(reportWithoutImage(facts), facts, undefined, policy, NO_IMAGE.reason);
    return { report, skipped: NO_IMAGE };
  } finally {
    progress?.clear();
  }
  try {
    const facts = imageFactsOf(source);
    const manifestChecks = evaluateManifest(facts, policy);
    const streamed = needsLayers(manifestChecks, policy, {
      full: options.full,
      noLayers: options['no-layers'],
    });
    const analysis = streamed ? await analysedImage(source, args, io, progress) : undefined;
    const skipped = options['no-layers']
      ? SKIPPED_BY_FLAG
      : args.command === 'tui'
        ? SKIPPED_AFTER_FAILURE_EXPLORER
        : SKIPPED_AFTER_FAILURE;
    const report = withPolicy(buildReport(source, analysis), facts, analysis, policy, skipped.reason);
    return streamed ? { report } : { report, skipped };
  } finally {
    await source.close();
  }
}

/** `imgscope check IMAGE`: the verdict a deploy can be gated on. Exit 0 pass/warn, 1 fail, 2 error. */
export async function runCheck(args: ParsedArgs, io: Output): Promise<number> {
  const image = imageArgument(args);
  const format = formatOf(args);
  analyzeOptionsOf(args, io);
  const policy = await resolvePolicy({
    flags: policyFlagsOf(args.options),
    cwd: io.cwd,
    reference: policyReference(image),
  });
  // Progress only on a terminal; other stderr lines then take turns with it.
  const progress = progressLineFor(io);
  const checkIo = progress ? progress.sharing(io) : io;
  // Interrupted, the progress line is erased: the shell's next line would otherwise start after it.
  const { report, skipped } = await removingTempFilesOnSignal(
    () => decide(image, args, checkIo, policy, progress),
    () => progress?.clear(),
  );
  io.stdout.write(
    await renderReport(report, format, {
      color: colorEnabled(io.stdout, io.env),
      width: terminalWidth(io.stdout),
      notAnalysedNote: skipped?.note,
      failOn: policy.failOn,
    }),
  );
  return exitCodeOf(report.verdict ?? 'pass');
}
