// Finds where things are on disk, with the format decoders: every frame of every segment file, the
// COMMIT of each object and its chunk frames, each footer. Corruption tests use it to flip a byte
// inside exactly one object's record, and to know which objects must then fail.
import { RecordType, SEGMENT_HEADER_BYTES, TAIL_BYTES } from '../../src/format/constants.js';
import { decodeFrame } from '../../src/format/frame.js';
import { decodeManifest, type ChunkRef, type ObjectManifest } from '../../src/format/records.js';
import type { MemoryFileSystem } from '../../src/io/memory-fs.js';

export interface FrameInfo {
  segmentId: number;
  offset: number;
  frameLen: number;
  type: number;
  flags: number;
  /** Absolute file offset of the payload and its length. */
  payloadAt: number;
  payloadLen: number;
}

export interface ObjectLocation {
  commit: FrameInfo;
  manifest: ObjectManifest;
  chunks: ChunkRef[];
}

export interface DiskMap {
  segments: Map<number, { path: string; size: number; frames: FrameInfo[]; footer?: FrameInfo; tailAt?: number }>;
  /** "bucket/key" → its newest COMMIT. */
  objects: Map<string, ObjectLocation>;
}

export function segmentPath(dir: string, id: number): string {
  return `${dir}/segments/${String(id).padStart(12, '0')}.seg`;
}

export async function mapDisk(fs: MemoryFileSystem, dir: string): Promise<DiskMap> {
  const map: DiskMap = { segments: new Map(), objects: new Map() };
  for (const name of await fs.readdir(`${dir}/segments`)) {
    const id = Number(name.slice(0, 12));
    const path = `${dir}/segments/${name}`;
    const buf = await fs.readFile(path);
    const frames: FrameInfo[] = [];
    let footer: FrameInfo | undefined;
    let at = SEGMENT_HEADER_BYTES;
    while (at + 20 <= buf.length) {
      const len = buf.readUInt32LE(at + 4);
      let f;
      try {
        f = decodeFrame(buf.subarray(at, at + len));
      } catch {
        break; // the map is taken before any damage is injected: this is the end of the records
      }
      const info: FrameInfo = { segmentId: id, offset: at, frameLen: len, type: f.type, flags: f.flags, payloadAt: at + 12 + f.metaLen, payloadLen: f.payload.length };
      if (f.type === RecordType.FOOTER) {
        footer = info;
        break;
      }
      frames.push(info);
      if (f.type === RecordType.COMMIT) {
        const m = decodeManifest(Buffer.from(f.payload));
        const name = `${m.bucket}/${m.key}`;
        const old = map.objects.get(name);
        if (!old || old.manifest.seq < m.seq) map.objects.set(name, { commit: info, manifest: m, chunks: m.chunks });
      }
      at += len;
    }
    map.segments.set(id, { path, size: buf.length, frames, footer, tailAt: footer ? buf.length - TAIL_BYTES : undefined });
  }
  return map;
}

/** A copy of the data directory on a fresh in-memory disk, everything durable. */
export async function copyDisk(src: MemoryFileSystem, dir: string, fresh: MemoryFileSystem): Promise<MemoryFileSystem> {
  for (const sub of ['', '/segments', '/checkpoints', '/tmp']) {
    await fresh.mkdir(`${dir}${sub}`);
    for (const name of await src.readdir(`${dir}${sub}`)) {
      const path = `${dir}${sub}/${name}`;
      if (['segments', 'checkpoints', 'tmp'].includes(name) && sub === '') continue;
      await fresh.writeFile(path, await src.readFile(path));
      await fresh.syncFile(path);
    }
    await fresh.syncDir(`${dir}${sub}`);
  }
  return fresh;
}
