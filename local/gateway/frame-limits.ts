/**
 * API Gateway's WebSocket size quotas: a frame may carry at most 32 KB and a message (a
 * frame or a run of continuation frames) at most 128 KB; beyond either the connection is
 * closed with 1009 (message too big). `ws` enforces the message limit itself (maxPayload);
 * the frame limit needs a look at the frame headers on the raw socket, which this does
 * without touching the bytes `ws` reads.
 */
import type { Duplex } from 'node:stream';

export const FRAME_LIMIT_BYTES = 32 * 1024;
export const MESSAGE_LIMIT_BYTES = 128 * 1024;

/**
 * Watches the client's frames on `socket` (and `head`, the bytes read with the upgrade
 * request) and calls `onTooBig` once, when a data frame's payload exceeds `limit`.
 */
export function watchFrameSizes(
  socket: Duplex,
  head: Buffer,
  onTooBig: (size: number) => void,
  limit = FRAME_LIMIT_BYTES,
): void {
  let header = Buffer.alloc(0);
  let skip = 0;
  let tripped = false;

  const feed = (chunk: Buffer) => {
    let offset = 0;
    while (!tripped && offset < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - offset);
        skip -= n;
        offset += n;
        continue;
      }
      // A frame header is at most 14 bytes; take what this chunk has of it.
      const take = Math.min(14 - header.length, chunk.length - offset);
      header = Buffer.concat([header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (header.length < 2) continue;
      const len7 = (header[1] as number) & 0x7f;
      const masked = ((header[1] as number) & 0x80) !== 0;
      const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const headerLength = 2 + extra + (masked ? 4 : 0);
      if (header.length < headerLength) continue;
      const payload =
        len7 === 126 ? header.readUInt16BE(2) : len7 === 127 ? Number(header.readBigUInt64BE(2)) : len7;
      const opcode = (header[0] as number) & 0x0f;
      // Bytes taken into `header` beyond this frame's header belong to the payload.
      const overshoot = header.length - headerLength;
      offset -= overshoot;
      header = Buffer.alloc(0);
      skip = payload;
      if (opcode < 0x08 && payload > limit) {
        tripped = true;
        socket.removeListener('data', feed);
        onTooBig(payload);
      }
    }
  };
  if (head.length > 0) feed(head);
  socket.prependListener('data', feed);
}
