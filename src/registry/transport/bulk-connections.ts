import { createHash } from 'node:crypto';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls, type SecureContext } from 'node:tls';

/** How long a connection waits for the next blob before it is closed; servers keep theirs 5 s or more. */
const IDLE_MS = 4_000;
/** Idle connections kept per origin: one per layer streamed at once is plenty. */
const MAX_IDLE_PER_ORIGIN = 8;
/**
 * Where a connection reads while nobody owns it. Node asks for the next read's buffer as soon as a read
 * is handled, so the first read of an exchange lands here and is copied to the exchange's buffer.
 * Connections share it: each read is handled, and copied out, before the next one is made.
 */
const IDLE_READ_BUFFER = Buffer.alloc(4096);

/** The exchange that owns a connection: its bytes land in the exchange's buffer, its events go there. */
export interface ConnectionUser {
  /** Where the next bytes read may land. */
  readBuffer(): Buffer;
  /** `bytes` landed at the start of the last `readBuffer()`; false pauses reading. */
  onRead(bytes: number): boolean;
  onEnd(): void;
  onError(error: Error): void;
  onClose(): void;
}

export type BulkTls = Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized' | 'secureContext'>;

/**
 * One TCP or TLS connection for bulk GETs, read into its user's buffers (`onread`). It outlives an
 * exchange when the response ended cleanly (bulk-get.ts decides), so the next blob from the same origin
 * skips the TCP and TLS handshakes: two or three round trips per layer on a remote registry, twice over
 * where blobs redirect to storage.
 */
export class BulkConnection {
  readonly socket: Socket;
  private user: ConnectionUser | undefined;
  /** Called once when a connection waiting in the pool closes or misbehaves. */
  onIdleEnd: (() => void) | undefined;

  constructor(url: URL, tls: BulkTls | undefined) {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const onread = {
      buffer: () => this.user?.readBuffer() ?? IDLE_READ_BUFFER,
      callback: (bytes: number, landed: Buffer) => this.onRead(bytes, landed),
    };
    this.socket = secure
      ? connectTls({
          host,
          port,
          ...(isIP(host) ? {} : { servername: host }),
          ALPNProtocols: ['http/1.1'],
          ...tls,
          onread,
        } as ConnectionOptions)
      : connectTcp({ host, port, onread, noDelay: true });
    this.socket.on('end', () => (this.user ? this.user.onEnd() : this.endIdle()));
    this.socket.on('error', (error) => (this.user ? this.user.onError(error) : this.endIdle()));
    this.socket.on('close', () => (this.user ? this.user.onClose() : this.endIdle()));
    this.socket.on('timeout', () => {
      if (!this.user) this.endIdle();
    });
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  attach(user: ConnectionUser): void {
    this.user = user;
    this.onIdleEnd = undefined;
  }

  detach(): void {
    this.user = undefined;
  }

  destroy(): void {
    this.user = undefined;
    this.socket.destroy();
  }

  private onRead(bytes: number, landed: Buffer): boolean {
    const user = this.user;
    if (!user) {
      // A server speaks on an idle connection only to close it (a 408, say): it cannot be reused.
      this.endIdle();
      return false;
    }
    const target = user.readBuffer();
    if (landed.buffer !== target.buffer || landed.byteOffset !== target.byteOffset) {
      if (bytes > target.length) {
        user.onError(new Error('read past the exchange buffer'));
        return false;
      }
      landed.copy(target, 0, 0, bytes);
    }
    const more = user.onRead(bytes);
    // The user let go during the call (its response ended): keep reading, to notice the server closing.
    return this.user === user ? more : true;
  }

  private endIdle(): void {
    const onIdleEnd = this.onIdleEnd;
    this.onIdleEnd = undefined;
    this.socket.destroy();
    onIdleEnd?.();
  }
}

/**
 * Idle bulk connections by origin, newest first out. A connection waiting here does not keep the process
 * alive, and is closed after IDLE_MS.
 */
export class BulkConnections {
  private readonly idle = new Map<string, BulkConnection[]>();
  private closed = false;

  /** An idle connection to `key`'s origin, or undefined. */
  take(key: string): BulkConnection | undefined {
    const waiting = this.idle.get(key);
    const connection = waiting?.pop();
    if (waiting?.length === 0) this.idle.delete(key);
    if (!connection) return undefined;
    connection.socket.ref();
    connection.socket.setTimeout(0);
    return connection;
  }

  /** Keeps `connection` (its response read to the end, nothing after it) for the next GET to `key`. */
  give(key: string, connection: BulkConnection): void {
    const waiting = this.idle.get(key) ?? [];
    if (this.closed || connection.destroyed || waiting.length >= MAX_IDLE_PER_ORIGIN) {
      connection.destroy();
      return;
    }
    connection.detach();
    // Reading may have stopped for a reader that was behind; over TLS the body could still end after that,
    // from plaintext already decrypted. An idle connection reads, to notice the server closing it, and the
    // next exchange needs it reading.
    connection.socket.resume();
    waiting.push(connection);
    this.idle.set(key, waiting);
    const forget = () => {
      const list = this.idle.get(key);
      const at = list?.indexOf(connection) ?? -1;
      if (at >= 0) list!.splice(at, 1);
      if (list?.length === 0) this.idle.delete(key);
    };
    connection.onIdleEnd = forget;
    connection.socket.unref();
    connection.socket.setTimeout(IDLE_MS);
  }

  /** Closes every idle connection; connections given back later are closed at once. */
  close(): void {
    this.closed = true;
    for (const waiting of this.idle.values()) for (const connection of waiting) connection.destroy();
    this.idle.clear();
  }
}

/** Connections are shared between GETs with the same origin and the same TLS settings. */
export function connectionKey(url: URL, tls: BulkTls | undefined): string {
  // A connection that presented one client certificate is not another's.
  const context = tls?.secureContext ? ` context ${contextId(tls.secureContext)}` : '';
  if (tls?.rejectUnauthorized === false) return `${url.origin} unchecked${context}`;
  if (!tls?.ca) return `${url.origin}${context}`;
  // A connection verified against one set of trusted certificates proves nothing to a GET that trusts others.
  const trusted = createHash('sha256');
  for (const certificate of [tls.ca].flat()) trusted.update(certificate).update('\0');
  return `${url.origin} ca ${trusted.digest('hex')}${context}`;
}

const contextIds = new WeakMap<SecureContext, number>();
let lastContextId = 0;

function contextId(context: SecureContext): number {
  let id = contextIds.get(context);
  if (id === undefined) {
    id = ++lastContextId;
    contextIds.set(context, id);
  }
  return id;
}
