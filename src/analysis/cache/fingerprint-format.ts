/**
 * The bytes of one fingerprint record: `length` bytes at `offset` of `file` were verified against `digest`
 * while the file's stat was `stamp`. A record is named after the sha256 of what it vouches for (file,
 * offset, length, digest), so verifying the same bytes again replaces it instead of adding another.
 *
 * Layout: the line "IMGSCOPE-FINGERPRINT <CRC-32 of the next line, 8 hex digits>", then one JSON line: a
 * few hundred bytes. Nothing is trusted before the checksum matches and every field has its shape.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { type Digest, isDigest } from '../../oci/digest.js';
import type { FileStamp, StoredBlob } from '../../oci/source.js';
import { UnusableEntryError } from './entry-format.js';

const MAGIC = 'IMGSCOPE-FINGERPRINT ';
/** Bumped when the byte layout changes. */
export const FINGERPRINT_FORMAT = 1;
/** A record is a few hundred bytes, a long path included; anything far larger is not one. */
export const MAX_RECORD_BYTES = 64 * 1024;

export interface FingerprintRecord {
  /** Where the bytes lie, and the stat of their file when they were verified. */
  blob: StoredBlob;
  digest: Digest;
}

const RECORD_NAME = /^[0-9a-f]{64}$/;
const STAMP_FIELDS = ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const satisfies (keyof FileStamp)[];
const INTEGER = /^-?\d{1,30}$/;

const corrupt = (detail: string) => new UnusableEntryError('corrupt', detail);

/** The file a record of these bytes is stored in: the same bytes of the same file always get the same name. */
export function recordFileName(blob: Pick<StoredBlob, 'file' | 'offset' | 'length'>, digest: Digest): string {
  const key = JSON.stringify([blob.file, blob.offset, blob.length, digest]);
  return createHash('sha256').update(key).digest('hex');
}

export function isRecordFileName(name: string): boolean {
  return RECORD_NAME.test(name);
}

export function encodeRecord({ blob, digest }: FingerprintRecord): Buffer {
  const body = JSON.stringify({
    format: FINGERPRINT_FORMAT,
    file: blob.file,
    offset: blob.offset,
    length: blob.length,
    digest,
    ...Object.fromEntries(STAMP_FIELDS.map((field) => [field, String(blob.stamp[field])])),
  });
  return Buffer.from(`${MAGIC}${checksum(body)}\n${body}\n`, 'utf8');
}

/** Decodes a record, or throws UnusableEntryError when the bytes are not a whole record of this format. */
export function decodeRecord(bytes: Uint8Array): FingerprintRecord {
  if (bytes.byteLength > MAX_RECORD_BYTES) throw corrupt('too large for a fingerprint');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const lines = text.split('\n');
  if (lines.length !== 3 || lines[2] !== '' || !lines[0]!.startsWith(MAGIC))
    throw corrupt('not an imgscope fingerprint');
  const body = lines[1]!;
  if (lines[0]!.slice(MAGIC.length) !== checksum(body)) throw corrupt('checksum mismatch');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw corrupt('unreadable');
  }
  if (typeof value !== 'object' || value === null) throw corrupt('not a record');
  const fields = value as Record<string, unknown>;
  if (fields.format !== FINGERPRINT_FORMAT) throw new UnusableEntryError('stale', `format ${fields.format}`);
  const { file, offset, length, digest } = fields;
  if (
    typeof file !== 'string' ||
    !isCount(offset) ||
    !isCount(length) ||
    !isDigest(digest) ||
    !STAMP_FIELDS.every((field) => typeof fields[field] === 'string' && INTEGER.test(fields[field]))
  )
    throw corrupt('incomplete record');
  const stamp = Object.fromEntries(
    STAMP_FIELDS.map((field) => [field, BigInt(fields[field] as string)]),
  ) as unknown as FileStamp;
  return { blob: { file, offset, length, stamp }, digest };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return STAMP_FIELDS.every((field) => a[field] === b[field]);
}

function checksum(body: string): string {
  return crc32(body).toString(16).padStart(8, '0');
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
