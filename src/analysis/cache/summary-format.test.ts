import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/shared.js';
import type { Digest } from '../../oci/digest.js';
import { openLocalImage } from '../../oci/local/index.js';
import type { Descriptor } from '../../oci/types.js';
import { analyzeImage } from '../analyze.js';
import { type AnalysisSummary, summarizeAnalysis } from '../summary.js';
import { withChecksum } from './checksum.js';
import { UnusableEntryError } from './entry-format.js';
import { decodeSummary, encodeSummary, readSummaryHeader, SUMMARY_FORMAT } from './summary-format.js';

const ANALYSER = 'test-1';
let digest: Digest;
let layers: readonly Descriptor[];
let summary: AnalysisSummary;

beforeAll(async () => {
  const source = await openLocalImage(fixture('demo'));
  try {
    digest = source.digest;
    layers = source.layers;
    summary = summarizeAnalysis(await analyzeImage(source));
  } finally {
    await source.close();
  }
});

const encoded = (value = summary) => Buffer.concat(encodeSummary(digest, ANALYSER, value));
const decode = (bytes: Uint8Array, expected: { analyser?: string; layers?: readonly Descriptor[] } = {}) =>
  decodeSummary(bytes, { digest, analyser: ANALYSER, layers, ...expected });

/** Why decoding fails, as `stale: …` or `corrupt: …`. */
function failure(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(UnusableEntryError);
    return (error as Error).message;
  }
  throw new Error('decoded');
}

/** A summary file whose payload is `payload` with a checksum that matches: only the shape checks stand. */
function withPayload(payload: unknown): Buffer {
  const bytes = encoded();
  const { header, payloadOffset } = readSummaryHeader(bytes);
  const body = Buffer.from(JSON.stringify(payload));
  const forged = { ...header, payloadBytes: body.length };
  const first = bytes.subarray(0, bytes.indexOf(0x0a) + 1);
  expect(payloadOffset).toBeGreaterThan(first.length);
  return Buffer.concat(withChecksum([first, Buffer.from(`${JSON.stringify(forged)}\n`), body]));
}

describe('image summary format', () => {
  it('round-trips a summary of fixtures/demo exactly, findings and inefficient files included', () => {
    expect(summary.findings.leftovers.length).toBeGreaterThan(0);
    expect(summary.waste.inefficientFiles.length).toBeGreaterThan(0);
    const decoded = decode(encoded());
    expect(decoded).toEqual(summary);
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(summary));
  });

  it('names the manifest and its layers in the header', () => {
    const { header } = readSummaryHeader(encoded());
    expect(header).toMatchObject({ format: SUMMARY_FORMAT, analyser: ANALYSER, digest });
    expect(header.layers).toEqual(layers.map((layer) => layer.digest));
  });

  it('is stale for another analyser or format', () => {
    expect(failure(() => decode(encoded(), { analyser: 'test-2' }))).toBe('stale: analyser test-1');
    const text = encoded().toString('latin1').replace(`"format":${SUMMARY_FORMAT}`, '"format":99');
    expect(failure(() => decode(Buffer.from(text, 'latin1')))).toBe('stale: summary format 99');
    // Format 1 had the payload's CRC-32 in the header and no trailer.
    const { header, payloadOffset } = readSummaryHeader(encoded());
    const old = `IMGSCOPE-SUMMARY\n${JSON.stringify({ ...header, format: 1, crc32: 0 })}\n`;
    const payload = encoded().subarray(payloadOffset, -4);
    expect(failure(() => decode(Buffer.concat([Buffer.from(old), payload])))).toBe('stale: summary format 1');
  });

  it("is corrupt when it is another image's summary, or its layers are not the manifest's", () => {
    const other: Digest = `sha256:${'ab'.repeat(32)}`;
    const bytes = Buffer.concat(encodeSummary(other, ANALYSER, summary));
    expect(failure(() => decode(bytes))).toBe(`corrupt: summary of ${other}`);
    expect(failure(() => decode(encoded(), { layers: layers.slice(1) }))).toMatch(
      /^corrupt: 8 layers, the manifest lists 7$/,
    );
    const resized = layers.map((layer, i) => (i === 3 ? { ...layer, size: layer.size + 1 } : layer));
    expect(failure(() => decode(encoded(), { layers: resized }))).toBe(
      "corrupt: layer 4 is not the manifest's",
    );
  });

  it('is corrupt when a byte flips, it is cut short, or it is not a summary at all', () => {
    const flipped = encoded();
    flipped[flipped.length - 10]! ^= 0x01;
    expect(failure(() => decode(flipped))).toBe('corrupt: checksum mismatch');
    const bytes = encoded();
    expect(failure(() => decode(bytes.subarray(0, bytes.length - 1)))).toBe('corrupt: truncated or overlong');
    expect(failure(() => decode(bytes.subarray(0, 30)))).toBe('corrupt: truncated header');
    expect(failure(() => decode(Buffer.alloc(0)))).toBe('corrupt: not an imgscope image summary');
    expect(failure(() => decode(Buffer.from('IMGSCOPE-SUMMARY\n{"format":1}\n')))).toBe(
      'corrupt: incomplete header',
    );
  });

  it('is corrupt when any bit of its header flips: the checksum covers the header too', () => {
    const bytes = encoded();
    const { payloadOffset } = readSummaryHeader(bytes);
    for (let at = 0; at < payloadOffset; at++)
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[at]! ^= 1 << bit;
        failure(() => decode(flipped));
      }
    // A layer digest one bit off: the checksum, not the comparison with the manifest, refuses it.
    const text = bytes.toString('latin1');
    const at = text.indexOf(layers[0]!.digest, text.indexOf('"layers"')) + 'sha256:'.length;
    const flipped = Buffer.from(bytes);
    flipped[at]! ^= 0x01;
    expect(failure(() => decode(flipped))).toBe('corrupt: checksum mismatch');
  });

  it('checks every field of a payload whose checksum matches', () => {
    expect(decode(withPayload(summary))).toEqual(summary);
    const broken: [string, (copy: AnalysisSummary) => void][] = [
      [
        'a layer size as text',
        (copy) => ((copy.layers[0] as unknown as Record<string, unknown>).contentSize = '1'),
      ],
      ['no waste', (copy) => delete (copy as Partial<AnalysisSummary>).waste],
      ['an unknown leftover', (copy) => ((copy.findings.leftovers[0]!.kind as string) = 'tmp')],
      ['a null file', (copy) => (copy.findings.largestFiles[0] = null as never)],
    ];
    for (const [what, breakIt] of broken) {
      const copy = structuredClone(summary);
      breakIt(copy);
      expect(
        failure(() => decode(withPayload(copy))),
        what,
      ).toBe('corrupt: not a summary of this shape');
    }
    const outOfRange = structuredClone(summary);
    outOfRange.findings.largestFiles[0]!.layer = layers.length;
    expect(failure(() => decode(withPayload(outOfRange)))).toBe('corrupt: a layer index out of range');
  });
});
