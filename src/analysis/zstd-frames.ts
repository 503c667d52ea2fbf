/**
 * Follows a zstd stream's framing (RFC 8878) as its bytes arrive, from header to header, and reports each
 * frame's window as soon as its header is complete: the decoder's memory is the window, so it has to be
 * known before the decoder sees the frame. Block contents are jumped over, never read; headers may be
 * split across chunks at any byte.
 */

export interface ZstdFrame {
  /** Where the frame starts in the stream. */
  offset: number;
  /** Bytes of history the decoder must keep: Window_Size, or Frame_Content_Size for a single segment. */
  window: number;
  /** Frame_Content_Size: the bytes the frame decodes to, when its header says (zstd writes it for files). */
  contentSize: number | undefined;
}

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames use the 16 magic numbers 0x184D2A50–0x184D2A5F. */
const SKIPPABLE_MAGIC = 0x184d2a50;

const RLE_BLOCK = 1;
const RESERVED_BLOCK = 3;

type Field = 'magic' | 'skippable-size' | 'frame-header-descriptor' | 'frame-header' | 'block-header';

export class ZstdFrameWalker {
  /** The longest field is a frame header after its descriptor: 1 + 4 + 8 bytes. */
  private readonly field = new Uint8Array(13);
  private expected: Field = 'magic';
  private fieldLength = 4;
  private gathered = 0;
  /** Bytes to pass over before the expected field: block contents, checksums, skippable frames' data. */
  private skipping = 0;
  /** Stream bytes walked so far. */
  private offset = 0;
  private frameOffset = 0;
  private descriptor = 0;

  constructor(private readonly onFrame: (frame: ZstdFrame) => void) {}

  /** Walks the next bytes of the stream; throws on framing no zstd decoder accepts. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.skipping > 0) {
        const skipped = Math.min(this.skipping, chunk.length - at);
        this.skipping -= skipped;
        this.offset += skipped;
        at += skipped;
        continue;
      }
      const taken = Math.min(this.fieldLength - this.gathered, chunk.length - at);
      this.field.set(chunk.subarray(at, at + taken), this.gathered);
      this.gathered += taken;
      this.offset += taken;
      at += taken;
      if (this.gathered === this.fieldLength) this.read();
    }
  }

  private read(): void {
    const field = this.field;
    const fieldOffset = this.offset - this.fieldLength;
    switch (this.expected) {
      case 'magic': {
        const magic = littleEndian(field, 0, 4);
        if (magic === ZSTD_MAGIC) {
          this.frameOffset = fieldOffset;
          this.expect('frame-header-descriptor', 1);
        } else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
          this.expect('skippable-size', 4);
        } else {
          throw zstdError(`no frame magic at byte ${fieldOffset}`);
        }
        break;
      }
      case 'skippable-size':
        this.expect('magic', 4, littleEndian(field, 0, 4));
        break;
      case 'frame-header-descriptor': {
        const descriptor = field[0]!;
        if (descriptor & 0x08) throw zstdError(`reserved bit set in the frame header at byte ${fieldOffset}`);
        this.descriptor = descriptor;
        const { singleSegment, dictionaryBytes, contentSizeBytes } = readDescriptor(descriptor);
        this.expect('frame-header', (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes);
        break;
      }
      case 'frame-header':
        this.onFrame({
          offset: this.frameOffset,
          window: frameWindow(this.descriptor, field),
          contentSize: frameContentSize(this.descriptor, field),
        });
        this.expect('block-header', 3);
        break;
      case 'block-header': {
        const header = littleEndian(field, 0, 3);
        const type = (header >> 1) & 3;
        if (type === RESERVED_BLOCK) throw zstdError(`reserved block type at byte ${fieldOffset}`);
        const contentBytes = type === RLE_BLOCK ? 1 : header >>> 3;
        const last = (header & 1) === 1;
        if (!last) this.expect('block-header', 3, contentBytes);
        else this.expect('magic', 4, contentBytes + (readDescriptor(this.descriptor).checksum ? 4 : 0));
        break;
      }
    }
  }

  private expect(field: Field, length: number, skipFirst = 0): void {
    this.expected = field;
    this.fieldLength = length;
    this.gathered = 0;
    this.skipping = skipFirst;
  }
}

function readDescriptor(descriptor: number) {
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryFlag = descriptor & 3;
  return {
    singleSegment,
    checksum: (descriptor & 0x04) !== 0,
    dictionaryBytes: dictionaryFlag === 3 ? 4 : dictionaryFlag,
    contentSizeBytes: contentSizeFlag === 0 ? (singleSegment ? 1 : 0) : 1 << contentSizeFlag,
  };
}

/** The window a frame header (the bytes after its descriptor) declares. */
function frameWindow(descriptor: number, header: Uint8Array): number {
  const { singleSegment, dictionaryBytes, contentSizeBytes } = readDescriptor(descriptor);
  if (!singleSegment) {
    const windowDescriptor = header[0]!;
    const base = 2 ** (10 + (windowDescriptor >> 3));
    return base + (base / 8) * (windowDescriptor & 7);
  }
  const contentSize = littleEndian(header, dictionaryBytes, contentSizeBytes);
  return contentSizeBytes === 2 ? contentSize + 256 : contentSize;
}

/** The Frame_Content_Size a frame header declares, or undefined when it has none. */
function frameContentSize(descriptor: number, header: Uint8Array): number | undefined {
  const { singleSegment, dictionaryBytes, contentSizeBytes } = readDescriptor(descriptor);
  if (contentSizeBytes === 0) return undefined;
  const contentSize = littleEndian(header, (singleSegment ? 0 : 1) + dictionaryBytes, contentSizeBytes);
  return contentSizeBytes === 2 ? contentSize + 256 : contentSize;
}

/** Up to 8 bytes, little-endian; exact below 2^53, which is all a window limit needs. */
function littleEndian(bytes: Uint8Array, start: number, length: number): number {
  let value = 0;
  for (let index = length - 1; index >= 0; index--) value = value * 256 + bytes[start + index]!;
  return value;
}

export function zstdError(detail: string): Error {
  return new Error(`invalid zstd data (${detail})`);
}
