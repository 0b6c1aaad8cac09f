// The video bridge's wire format (src-tauri/src/video.rs): a 28-byte little-endian header,
// then the I420 planes packed (strides = width, width / 2).
export const HEADER = 28;

export interface Picture {
  width: number;
  height: number;
  /** The decoded picture's size before the bridge scaled it to the tile. */
  sourceWidth: number;
  sourceHeight: number;
  /** The sender's frame counter (the test pattern's own), else the bridge's count. */
  number: number;
  /** Unix ms when the camera took it (0: unknown). */
  captureMs: number;
  /** Pictures the bridge skipped for this tile so far (we read too slowly). */
  skipped: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

export function parsePicture(buf: ArrayBuffer): Picture | null {
  if (buf.byteLength < HEADER) return null;
  const d = new DataView(buf);
  if (d.getUint32(0, false) !== 0x53425631) return null; // "SBV1"
  const width = d.getUint16(4, true);
  const height = d.getUint16(6, true);
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  if (width === 0 || height === 0 || buf.byteLength < HEADER + ySize + 2 * cSize) return null;
  return {
    width,
    height,
    sourceWidth: d.getUint16(8, true),
    sourceHeight: d.getUint16(10, true),
    number: d.getUint32(12, true),
    captureMs: Number(d.getBigUint64(16, true)),
    skipped: d.getUint32(24, true),
    y: new Uint8Array(buf, HEADER, ySize),
    u: new Uint8Array(buf, HEADER + ySize, cSize),
    v: new Uint8Array(buf, HEADER + ySize + cSize, cSize),
  };
}

/** Messages from the tile to its worker. */
export type ToWorker =
  | { type: "start"; url: string; width: number; height: number }
  | { type: "resize"; width: number; height: number }
  | { type: "stop" };

/** What a tile shows about itself (and tests read). */
export interface TileStats {
  fps: number;
  drawn: number;
  number: number;
  skipped: number;
  width: number;
  height: number;
  sourceWidth: number;
  /** Median capture → drawn over the last second, ms (null without stamps). */
  latencyMs: number | null;
  renderer: "webgl2" | "2d";
}
