/**
 * A frontend that speaks the v3 protocol by hand, for message sequences the
 * usual drivers do not send: an Execute with a row limit followed by Sync,
 * again for the next rows (what JDBC's setFetchSize does inside a transaction;
 * node-postgres follows a row-limited Execute with Flush instead); a statement
 * prepared in a round trip of its own with Parse + Describe + Sync (asyncpg,
 * Npgsql's Prepare()), executed later by name.
 */
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');
const int16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const int32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };

export const frontend = {
  query: (sql: string) => message('Q', cstr(sql)),
  parse: (sql: string, statement = '') => message('P', Buffer.concat([cstr(statement), cstr(sql), int16(0)])),
  bind: (portal: string, statement = '') => message('B', Buffer.concat([cstr(portal), cstr(statement), int16(0), int16(0), int16(0)])),
  /** Describe of a prepared statement ('S') or a portal ('P'). */
  describe: (kind: 'S' | 'P', name: string) => message('D', Buffer.concat([Buffer.from(kind, 'latin1'), cstr(name)])),
  execute: (portal: string, rows: number) => message('E', Buffer.concat([cstr(portal), int32(rows)])),
  sync: () => message('S', Buffer.alloc(0)),
};

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiting: ((types: string[]) => void) | null = null;
  private types: string[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  /** Connects over the cluster's Unix socket (trust authentication) and waits for the first ReadyForQuery. */
  static async open(socketDir: string, port: number, user = 'postgres', database = 'postgres'): Promise<RawConnection> {
    const socket = net.connect(path.join(socketDir, `.s.PGSQL.${port}`));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return RawConnection.start(socket, user, database);
  }

  /** Connects over TCP to 127.0.0.1 with TLS (SSLRequest, then a TLS session; the certificate is not checked). */
  static async openTls(port: number, user = 'postgres', database = 'postgres'): Promise<RawConnection> {
    const plain = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => plain.once('connect', resolve).once('error', reject));
    const answer = await new Promise<Buffer>((resolve, reject) => {
      plain.once('data', resolve).once('error', reject);
      plain.write(Buffer.concat([int32(8), int32(80877103)]));
    });
    if (answer.toString('latin1') !== 'S') throw new Error(`the server refused TLS (answered ${JSON.stringify(answer.toString('latin1'))})`);
    const socket = tls.connect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    return RawConnection.start(socket, user, database);
  }

  private static async start(socket: net.Socket, user: string, database: string): Promise<RawConnection> {
    const conn = new RawConnection(socket);
    const params = Buffer.concat([cstr('user'), cstr(user), cstr('database'), cstr(database), Buffer.from([0])]);
    const body = Buffer.concat([int32(196608), params]);
    const types = await conn.roundTrip(Buffer.concat([int32(body.length + 4), body]));
    if (types.includes('E')) throw new Error('startup failed');
    return conn;
  }

  /** Sends `bytes` and resolves with the types of the messages up to and including ReadyForQuery. */
  roundTrip(...bytes: Buffer[]): Promise<string[]> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(Buffer.concat(bytes));
    });
  }

  private onData(d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d]);
    while (this.buffered.length >= 5) {
      const len = this.buffered.readInt32BE(1);
      if (this.buffered.length < len + 1) return;
      const type = String.fromCharCode(this.buffered[0]!);
      this.buffered = this.buffered.subarray(len + 1);
      this.types.push(type);
      if (type === 'Z' && this.waiting) {
        const done = this.waiting;
        this.waiting = null;
        const types = this.types;
        this.types = [];
        done(types);
      }
    }
  }

  close(): void {
    this.socket.end(message('X', Buffer.alloc(0)));
  }
}

/**
 * Inside one transaction, `portals` times: Parse + Bind + Execute(`rows`) + Sync,
 * then Execute(`rows`) + Sync while the portal stays suspended. Returns the
 * round trips each portal took.
 */
export async function fetchInRoundTrips(conn: RawConnection, sql: string, rows: number, portals: number): Promise<number[]> {
  const trips: number[] = [];
  await conn.roundTrip(frontend.query('BEGIN'));
  for (let p = 0; p < portals; p++) {
    let types = await conn.roundTrip(frontend.parse(sql), frontend.bind(`c${p}`), frontend.execute(`c${p}`, rows), frontend.sync());
    let n = 1;
    while (types.includes('s')) {
      types = await conn.roundTrip(frontend.execute(`c${p}`, rows), frontend.sync());
      n++;
    }
    trips.push(n);
  }
  await conn.roundTrip(frontend.query('COMMIT'));
  return trips;
}

/**
 * Parse + Describe + Sync for a named statement (a round trip that executes
 * nothing), then `executions` round trips of Bind + Execute + Sync by name.
 */
export async function prepareThenExecute(conn: RawConnection, name: string, sql: string, executions: number): Promise<void> {
  await conn.roundTrip(frontend.parse(sql, name), frontend.describe('S', name), frontend.sync());
  for (let i = 0; i < executions; i++) await conn.roundTrip(frontend.bind('', name), frontend.execute('', 0), frontend.sync());
}
