/**
 * Byte arrays sent to or from a worker thread as one transferable buffer: cloning many small
 * Uint8Arrays costs several microseconds each on the sending thread, a transfer almost nothing.
 */
export interface PackedBytes {
  readonly blob: Uint8Array;
  /** End offset of each array in `blob`. */
  readonly ends: readonly number[];
}

export function packBytes(list: readonly Uint8Array[]): PackedBytes {
  let size = 0;
  const ends = list.map((b) => (size += b.byteLength));
  const blob = new Uint8Array(size);
  let at = 0;
  for (const b of list) {
    blob.set(b, at);
    at += b.byteLength;
  }
  return { blob, ends };
}

/** Views into `packed.blob` (no copy). */
export function unpackBytes(packed: PackedBytes): Uint8Array[] {
  let start = 0;
  return packed.ends.map((end) => packed.blob.subarray(start, (start = end)));
}

/** The buffer to list in postMessage's transfer list. */
export function transferOf(packed: PackedBytes): ArrayBuffer[] {
  return [packed.blob.buffer as ArrayBuffer];
}
