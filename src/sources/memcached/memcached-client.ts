/**
 * A small memcached client over node:net speaking the text protocol (the protocol Zimbra's nginx
 * spoke, so keys and values stay readable with `telnet`), with consistent hashing over several
 * servers, one pipelined connection per server, a timeout per command and a back-off: a server
 * that failed is skipped for `retryMs`, and its keys go to the next server on the ring. We write
 * our own rather than use memjs because memjs speaks only the binary protocol, which memcached
 * deprecates, and the commands we need (get, add, delete, incr) are a few lines each.
 */
import { Socket } from 'node:net';
import { HashRing } from './hash-ring.js';

/** Options of {@link createMemcachedClient}. */
export interface MemcachedOptions {
  /** `host:port` or `[ipv6]:port` of each server. */
  servers: readonly string[];
  /** How long one command may take before the server is considered down. @default 1000 */
  timeoutMs?: number;
  /** How long a failed server is skipped. @default 10000 */
  retryMs?: number;
  /** Connect timeout. @default 1000 */
  connectTimeoutMs?: number;
}

/** The client. Every command rejects when no server can serve the key. */
export interface MemcachedClient {
  get(key: string): Promise<string | undefined>;
  add(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * incr by `by` (default 1), or `add` `by` with the TTL when absent; a lost race to create
   * counts as `by`.
   */
  increment(key: string, ttlSeconds: number, by?: number): Promise<number>;
  /** Deletes `key` on every server (purge: the key may sit where an older ring put it). */
  deleteEverywhere(key: string): Promise<{ server: string; deleted: boolean | undefined }[]>;
  /** The server the ring assigns `key` to when every server is up (no connection is made). */
  ownerOf(key: string): string | undefined;
  /**
   * `get` on one named server of this client, wherever the ring puts the key (a counter that a
   * previous ring kept there); undefined when the server is not one of this client's or is
   * skipped after a failure.
   */
  getFrom(server: string, key: string): Promise<string | undefined>;
  /** `delete` on one named server of this client (see {@link getFrom}). */
  deleteFrom(server: string, key: string): Promise<void>;
  close(): void;
}

type Reply = { kind: 'line'; line: string } | { kind: 'value'; value: string | undefined };

interface Pending {
  expectsValue: boolean;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const MAX_KEY_BYTES = 250;

class ServerConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: Pending[] = [];
  /** Skip this server until then (ms since epoch). */
  downUntil = 0;

  readonly name: string;
  private readonly host: string;
  private readonly port: number;
  private readonly options: Required<Omit<MemcachedOptions, 'servers'>>;

  constructor(
    name: string,
    host: string,
    port: number,
    options: Required<Omit<MemcachedOptions, 'servers'>>,
  ) {
    this.name = name;
    this.host = host;
    this.port = port;
    this.options = options;
  }

  usable(): boolean {
    return Date.now() >= this.downUntil;
  }

  send(command: string, expectsValue: boolean): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const socket = this.connect();
      const timer = setTimeout(() => {
        this.fail(
          new Error(`memcached ${this.name}: no answer within ${this.options.timeoutMs} ms`),
        );
      }, this.options.timeoutMs);
      this.queue.push({ expectsValue, resolve, reject, timer });
      // Commands issued in one tick (a lookup's gets) leave in one write: one syscall, one packet.
      if (socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(() => socket.uncork());
      }
      socket.write(command);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): Socket {
    if (this.socket !== undefined) return this.socket;
    const socket = new Socket();
    socket.setNoDelay(true);
    socket.setTimeout(this.options.connectTimeoutMs);
    socket.once('connect', () => socket.setTimeout(0));
    socket.on('timeout', () => this.fail(new Error(`memcached ${this.name}: connect timeout`)));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      if (this.socket === socket) this.fail(new Error(`memcached ${this.name}: connection closed`));
    });
    socket.connect(this.port, this.host);
    socket.unref();
    this.socket = socket;
    return socket;
  }

  /** Drops the connection and rejects every pending command; the server is skipped for a while. */
  private fail(error: Error): void {
    this.downUntil = Date.now() + this.options.retryMs;
    const socket = this.socket;
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    socket?.destroy();
    for (const pending of this.queue.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const head = this.queue[0];
      if (head === undefined) {
        this.buffer = Buffer.alloc(0);
        return;
      }
      const reply = this.parse(head.expectsValue);
      if (reply === undefined) return;
      this.queue.shift();
      clearTimeout(head.timer);
      head.resolve(reply);
    }
  }

  /** One complete reply from the buffer, consumed; undefined when more bytes are needed. */
  private parse(expectsValue: boolean): Reply | undefined {
    const end = this.buffer.indexOf('\r\n');
    if (end < 0) return undefined;
    const line = this.buffer.toString('latin1', 0, end);
    if (!expectsValue || !line.startsWith('VALUE ')) {
      this.buffer = this.buffer.subarray(end + 2);
      return expectsValue && line === 'END'
        ? { kind: 'value', value: undefined }
        : { kind: 'line', line };
    }
    const bytes = Number(line.split(' ')[3]);
    const dataStart = end + 2;
    const total = dataStart + bytes + 2 + 'END\r\n'.length;
    if (this.buffer.length < total) return undefined;
    const value = this.buffer.toString('utf8', dataStart, dataStart + bytes);
    this.buffer = this.buffer.subarray(total);
    return { kind: 'value', value };
  }
}

function splitHostPort(server: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(server.trim());
  if (match?.[1] === undefined) return { host: server.trim(), port: 11211 };
  return { host: match[1], port: Number(match[2]) };
}

function checkKey(key: string): boolean {
  // eslint-disable-next-line no-control-regex -- the text protocol forbids these in keys
  return Buffer.byteLength(key) <= MAX_KEY_BYTES && !/[\u0000-\u0020\u007f]/.test(key);
}

/** Creates a client for the servers (no connection is made before the first command). */
export function createMemcachedClient(options: MemcachedOptions): MemcachedClient {
  const resolved = {
    timeoutMs: options.timeoutMs ?? 1000,
    retryMs: options.retryMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
  };
  const connections = new Map<string, ServerConnection>();
  for (const server of options.servers) {
    const { host, port } = splitHostPort(server);
    connections.set(server, new ServerConnection(server, host, port, resolved));
  }
  const ring = new HashRing([...connections.keys()]);

  const serverFor = (key: string): ServerConnection => {
    const name = ring.pick(key, (server) => connections.get(server)?.usable() ?? false);
    const connection = name === undefined ? undefined : connections.get(name);
    if (connection === undefined) throw new Error('no memcached server is available');
    return connection;
  };

  const command = async (key: string, text: string, expectsValue = false): Promise<Reply> => {
    const reply = await serverFor(key).send(text, expectsValue);
    if (reply.kind === 'line' && /^(ERROR|CLIENT_ERROR|SERVER_ERROR)/.test(reply.line)) {
      throw new Error(`memcached: ${reply.line}`);
    }
    return reply;
  };

  const store = async (verb: 'add' | 'set', key: string, value: string, ttl: number) => {
    const data = Buffer.from(value, 'utf8');
    const reply = await command(
      key,
      `${verb} ${key} 0 ${Math.max(0, Math.floor(ttl))} ${data.length}\r\n${value}\r\n`,
    );
    return reply.kind === 'line' && reply.line === 'STORED';
  };

  return {
    async get(key) {
      if (!checkKey(key)) return undefined;
      const reply = await command(key, `get ${key}\r\n`, true);
      return reply.kind === 'value' ? reply.value : undefined;
    },
    async add(key, value, ttl) {
      if (!checkKey(key)) return false;
      return store('add', key, value, ttl);
    },
    async set(key, value, ttl) {
      if (!checkKey(key)) return;
      await store('set', key, value, ttl);
    },
    async delete(key) {
      if (!checkKey(key)) return;
      await command(key, `delete ${key}\r\n`);
    },
    async increment(key, ttl, by = 1) {
      if (!checkKey(key)) return 0;
      const step = Math.max(1, Math.floor(by));
      const incr = async (): Promise<number | undefined> => {
        const reply = await command(key, `incr ${key} ${step}\r\n`);
        return reply.kind === 'line' && /^\d+$/.test(reply.line) ? Number(reply.line) : undefined;
      };
      const first = await incr();
      if (first !== undefined) return first;
      if (await store('add', key, String(step), ttl)) return step;
      // Another instance created it first: count this hit on top, or as `step` if that fails too.
      return (await incr()) ?? step;
    },
    async deleteEverywhere(key) {
      if (!checkKey(key)) return [];
      return Promise.all(
        [...connections.values()].map(async (connection) => {
          try {
            const reply = await connection.send(`delete ${key}\r\n`, false);
            return {
              server: connection.name,
              deleted: reply.kind === 'line' && reply.line === 'DELETED',
            };
          } catch {
            return { server: connection.name, deleted: undefined };
          }
        }),
      );
    },
    ownerOf(key) {
      return ring.pick(key);
    },
    async getFrom(server, key) {
      const connection = connections.get(server);
      if (connection === undefined || !connection.usable() || !checkKey(key)) return undefined;
      const reply = await connection.send(`get ${key}\r\n`, true);
      return reply.kind === 'value' ? reply.value : undefined;
    },
    async deleteFrom(server, key) {
      const connection = connections.get(server);
      if (connection === undefined || !connection.usable() || !checkKey(key)) return;
      await connection.send(`delete ${key}\r\n`, false);
    },
    close() {
      for (const connection of connections.values()) connection.close();
    },
  };
}
