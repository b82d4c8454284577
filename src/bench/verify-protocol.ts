/** Messages between the bench's main thread and its verification workers. */
export type WorkerRequest =
  | {
      readonly op: 'verify';
      readonly id: number;
      /** Envelopes back to back; envelope i is data[offsets[i], offsets[i+1]). */
      readonly data: Uint8Array;
      readonly offsets: Uint32Array;
    }
  | {
      readonly op: 'sign';
      readonly id: number;
      readonly secretKey: Uint8Array;
      readonly firstSeq: number;
      readonly count: number;
    };

export type WorkerResponse =
  | { readonly op: 'verify'; readonly id: number; readonly ok: Uint8Array }
  | { readonly op: 'sign'; readonly id: number; readonly data: Uint8Array }
  | { readonly op: 'error'; readonly id: number; readonly message: string };
