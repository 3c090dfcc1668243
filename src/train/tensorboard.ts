/**
 * TensorBoard event files without TensorFlow: `events.out.tfevents.<secs>.<host>` holding TFRecords
 *
 *   u64 LE length | u32 LE masked CRC32C(length bytes) | data | u32 LE masked CRC32C(data)
 *   masked(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8   (mod 2^32)
 *
 * whose data are `tensorflow.Event` protobufs (tensorflow/core/util/event.proto, the subset below):
 * first `file_version: "brain.Event:2"`, then scalar `Summary` values. Each process run writes a
 * new file (as TF does), so a resumed run appends by adding a file; `startSession(step)` writes a
 * `SessionLog.START` that tells TensorBoard to drop the crashed run's events at or after `step`.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { crc32c } from '@aws-crypto/crc32c';

export class EventFileError extends Error {
  override name = 'EventFileError';
}

// Field numbers are TensorFlow's (event.proto, summary.proto); fields we never write are omitted
// and skipped when decoding files written by TensorFlow.
const EVENT_PROTO = `
syntax = "proto3";
package tensorflow;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
    SessionLog session_log = 6;
  }
}
message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    oneof value {
      float simple_value = 2;
    }
  }
  repeated Value value = 1;
}
message SessionLog {
  enum SessionStatus {
    STATUS_UNSPECIFIED = 0;
    START = 1;
    STOP = 2;
    CHECKPOINT = 3;
  }
  SessionStatus status = 1;
  string checkpoint_path = 2;
  string msg = 3;
}
`;

const EventType = protobuf.parse(EVENT_PROTO).root.lookupType('tensorflow.Event');

/** Decoded `tensorflow.Event` (camelCase field names, int64 as number). */
export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: { value: { tag: string; simpleValue?: number; nodeName?: string }[] };
  sessionLog?: { status: 'STATUS_UNSPECIFIED' | 'START' | 'STOP' | 'CHECKPOINT'; checkpointPath?: string; msg?: string };
}

export const FILE_VERSION = 'brain.Event:2';

/** CRC32C masked as TFRecord does (so that a CRC of data containing CRCs is not degenerate). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length header, its masked CRC, the payload, the payload's masked CRC. */
export function encodeTfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

export interface DecodeOptions {
  /**
   * Accept an incomplete last record (a writer killed mid-write) and return the records before it,
   * as TensorBoard does. CRC mismatches are errors either way.
   */
  allowTruncatedTail?: boolean;
}

/** Split a TFRecord stream into payloads, verifying both CRCs of every record. */
export function decodeTfRecords(buf: Uint8Array, { allowTruncatedTail = false }: DecodeOptions = {}, source = 'buffer'): Uint8Array[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Uint8Array[] = [];
  let off = 0;
  while (off < b.length) {
    const truncated = (what: string) => {
      if (allowTruncatedTail) return;
      throw new EventFileError(`${source}: truncated record at byte ${off} (${what}); the writer was probably killed mid-write`);
    };
    if (off + 12 > b.length) {
      truncated('incomplete header');
      break;
    }
    const header = b.subarray(off, off + 8);
    const headerCrc = b.readUInt32LE(off + 8);
    const expectedHeaderCrc = maskedCrc32c(header);
    if (headerCrc !== expectedHeaderCrc) {
      throw new EventFileError(
        `${source}: length CRC mismatch in the record at byte ${off} (stored 0x${hex(headerCrc)}, computed 0x${hex(expectedHeaderCrc)})`,
      );
    }
    const len = b.readBigUInt64LE(off);
    if (len > BigInt(b.length - off - 16)) {
      truncated(`needs ${len} data bytes`);
      break;
    }
    const n = Number(len);
    const data = b.subarray(off + 12, off + 12 + n);
    const dataCrc = b.readUInt32LE(off + 12 + n);
    const expectedDataCrc = maskedCrc32c(data);
    if (dataCrc !== expectedDataCrc) {
      throw new EventFileError(
        `${source}: data CRC mismatch in the record at byte ${off} (stored 0x${hex(dataCrc)}, computed 0x${hex(expectedDataCrc)})`,
      );
    }
    records.push(new Uint8Array(data));
    off += 16 + n;
  }
  return records;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export function encodeEvent(event: TfEvent): Uint8Array {
  let msg;
  try {
    msg = EventType.fromObject(event as unknown as Record<string, unknown>);
  } catch (e) {
    throw new EventFileError(`invalid event: ${(e as Error).message}`);
  }
  return EventType.encode(msg).finish();
}

export function decodeEvent(data: Uint8Array): TfEvent {
  const msg = EventType.decode(data);
  const obj = EventType.toObject(msg, { longs: Number, enums: String, defaults: false, oneofs: false });
  return { wallTime: 0, step: 0, ...obj } as TfEvent;
}

/** All events of one event file, CRC-checked (`EventFileError` on a mismatch or truncation). */
export function readEventFile(path: string, opts: DecodeOptions = {}): TfEvent[] {
  return decodeTfRecords(readFileSync(path), opts, path).map((r, i) => {
    try {
      return decodeEvent(r);
    } catch (e) {
      throw new EventFileError(`${path}: record ${i} is not a tensorflow.Event: ${(e as Error).message}`);
    }
  });
}

/** Event files of a log directory, oldest first (TensorBoard's order: by name). */
export function listEventFiles(logDir: string): string[] {
  return readdirSync(logDir)
    .filter((f) => f.startsWith('events.out.tfevents.'))
    .sort()
    .map((f) => join(logDir, f));
}

export interface ScalarPoint {
  tag: string;
  step: number;
  value: number;
  wallTime: number;
}

/** Scalar values of an event file or of every event file in a directory, in file order. */
export function readScalars(pathOrDir: string, opts: DecodeOptions = {}): ScalarPoint[] {
  let files: string[];
  try {
    files = listEventFiles(pathOrDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    files = [pathOrDir];
  }
  const out: ScalarPoint[] = [];
  for (const f of files) {
    for (const ev of readEventFile(f, opts)) {
      for (const v of ev.summary?.value ?? []) {
        if (v.simpleValue !== undefined) out.push({ tag: v.tag, step: ev.step, value: v.simpleValue, wallTime: ev.wallTime });
      }
    }
  }
  return out;
}

export interface TensorBoardWriterOptions {
  /** Clock in seconds since the epoch (default: Date.now() / 1000). Tests fix it. */
  wallTime?: () => number;
  /** Host name in the file name (default: os.hostname()). */
  hostname?: string;
  /** Write buffered events to disk once this many are pending (default 50). `flush()` writes at once. */
  maxPending?: number;
}

/**
 * Writes one new event file in `logDir`. Events are buffered and written + fsync'ed by `flush()`
 * (the loop calls it once per epoch), when `maxPending` is reached, and by `close()`.
 */
export class TensorBoardWriter {
  readonly path: string;
  private fd: number | null;
  private pending: Buffer[] = [];
  private readonly clock: () => number;
  private readonly maxPending: number;

  constructor(readonly logDir: string, opts: TensorBoardWriterOptions = {}) {
    this.clock = opts.wallTime ?? (() => Date.now() / 1000);
    this.maxPending = opts.maxPending ?? 50;
    const host = (opts.hostname ?? osHostname()).replace(/[^A-Za-z0-9._-]/g, '_') || 'localhost';
    mkdirSync(logDir, { recursive: true });
    const base = `events.out.tfevents.${Math.floor(this.clock())}.${host}`;
    // A resumed run started within the same second must not append to (or clobber) the old file.
    let fd: number | undefined;
    let path = '';
    for (let i = 0; fd === undefined; i++) {
      path = join(logDir, i === 0 ? base : `${base}.${i}`);
      try {
        fd = openSync(path, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 1000) throw e;
      }
    }
    this.fd = fd;
    this.path = path;
    // TensorFlow's first record: wall time and file version, no step.
    this.push({ wallTime: this.clock(), step: 0, fileVersion: FILE_VERSION });
    this.flush();
  }

  private push(event: TfEvent): void {
    if (this.fd === null) throw new EventFileError(`TensorBoardWriter(${this.path}) is closed`);
    const { step, ...rest } = event;
    // proto3 omits a zero step on the wire anyway; leaving it out keeps bytes identical to TF's.
    this.pending.push(encodeTfRecord(encodeEvent(step === 0 ? (rest as TfEvent) : event)));
    if (this.pending.length >= this.maxPending) this.flush();
  }

  /** One scalar (stored as float32, as TensorBoard's simple_value is). */
  scalar(tag: string, value: number, step: number): void {
    if (typeof tag !== 'string' || tag.length === 0) throw new EventFileError('scalar tag must be a non-empty string');
    if (!Number.isSafeInteger(step)) throw new EventFileError(`scalar '${tag}': step must be an integer, got ${step}`);
    if (typeof value !== 'number') throw new EventFileError(`scalar '${tag}': value must be a number, got ${typeof value}`);
    this.push({ wallTime: this.clock(), step, summary: { value: [{ tag, simpleValue: value }] } });
  }

  /** Several scalars at one step, one event (undefined values are skipped). */
  scalars(values: Record<string, number | undefined>, step: number): void {
    for (const [tag, value] of Object.entries(values)) if (value !== undefined) this.scalar(tag, value, step);
  }

  /**
   * Mark a (re)start at `step`: TensorBoard discards events with step ≥ `step` from earlier files,
   * i.e. what a killed run logged after its last checkpoint.
   */
  startSession(step: number): void {
    if (!Number.isSafeInteger(step)) throw new EventFileError(`startSession: step must be an integer, got ${step}`);
    this.push({ wallTime: this.clock(), step, sessionLog: { status: 'START' } });
  }

  /** Write pending events and fsync. */
  flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    const buf = Buffer.concat(this.pending);
    this.pending = [];
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }
}
