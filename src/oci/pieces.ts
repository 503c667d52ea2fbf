/**
 * The 1 MiB buffers that downloaded blob bytes are read into (registry/transport/bulk-get.ts), recycled
 * once their last reader — the layer decoder — is done with them (analysis/compression.ts).
 *
 * A fresh buffer per MiB costs page faults, and V8 counts every new buffer towards a full garbage
 * collection once another 64 MB has been allocated outside its heap: on a 1.2 GB layer that was forty
 * extra collections. A piece nobody gives back is simply collected, so forgetting to release is safe;
 * releasing a piece that is still being read is not, which is why only the decoder's write callback does.
 */
export const PIECE_BYTES = 1024 * 1024;
/** Idle pieces kept for reuse: enough for a few layers in flight, little when they are done. */
const MAX_IDLE = 32;

const idle: Buffer[] = [];
const ours = new WeakSet<ArrayBufferLike>();
const idleBuffers = new WeakSet<ArrayBufferLike>();

export function takePiece(): Buffer {
  const piece = idle.pop();
  if (piece) {
    idleBuffers.delete(piece.buffer);
    return piece;
  }
  const fresh = Buffer.allocUnsafeSlow(PIECE_BYTES);
  ours.add(fresh.buffer);
  return fresh;
}

/**
 * Gives back the piece that `chunk` (the piece or any view of it) was read into. The caller must hold
 * no other view of it. Buffers that are not pieces, or are already back, are ignored.
 */
export function releasePiece(chunk: Uint8Array): void {
  const { buffer } = chunk;
  if (!ours.has(buffer) || idleBuffers.has(buffer) || idle.length >= MAX_IDLE) return;
  idleBuffers.add(buffer);
  idle.push(Buffer.from(buffer, 0, PIECE_BYTES));
}
