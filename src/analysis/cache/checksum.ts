/**
 * The trailer of layer entries and image summaries: the CRC-32 of every byte before it (u32, little
 * endian), header included, so no byte that is read goes unchecked. It catches torn and corrupted files;
 * it is no defence against someone who can write the cache folder, and need not be.
 */
import { crc32 } from 'node:zlib';

export const CHECKSUM_BYTES = 4;

/** The chunks followed by the trailer of their bytes. */
export function withChecksum(chunks: readonly Uint8Array[]): Uint8Array[] {
  let checksum = 0;
  for (const chunk of chunks) checksum = crc32(chunk, checksum);
  const trailer = Buffer.alloc(CHECKSUM_BYTES);
  trailer.writeUInt32LE(checksum);
  return [...chunks, trailer];
}

/** Whether the last bytes are the trailer of all the others. */
export function checksumMatches(bytes: Uint8Array): boolean {
  if (bytes.length < CHECKSUM_BYTES) return false;
  const end = bytes.length - CHECKSUM_BYTES;
  const stored = Buffer.from(bytes.buffer, bytes.byteOffset + end, CHECKSUM_BYTES).readUInt32LE(0);
  return crc32(bytes.subarray(0, end)) === stored;
}
