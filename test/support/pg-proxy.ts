/**
 * A TCP proxy between Coffer processes and PostgreSQL that plays a bad
 * network: latency on every packet (a slow database, as the application sees
 * it), every open connection cut at once (a drop mid-transaction: both ends
 * get a reset), and new connections refused for a while.
 */
import net from 'node:net';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** A statement matching `loseAnswerTo` went out on it: its answer is not passed on. */
  armed: boolean;
}

export class PgProxy {
  private listener: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private latencyMs = 0;
  private refusing = false;
  private answersToLose: { pattern: string; left: number } | undefined;
  /** Connections taken since the start (a reconnecting pool opens new ones). */
  accepted = 0;
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const listener = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    this.listener = listener;
    this.port = (listener.address() as net.AddressInfo).port;
  }

  /** Every packet, both ways, waits this long (order kept); 0: none. Applies to open connections too. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** While on, a new connection is reset as soon as it arrives (the server cannot be reached). */
  refuseNew(on: boolean): void {
    this.refusing = on;
  }

  /** Resets every open connection at once, on both sides; answers how many there were. */
  dropAll(): number {
    const dropped = this.pairs.size;
    for (const pair of [...this.pairs]) this.close(pair);
    return dropped;
  }

  /**
   * The next `count` statements whose text contains `pattern` run on the server
   * (and commit, outside a transaction), but their answers never arrive: the
   * connection is reset instead of passing them on.
   */
  loseAnswerTo(pattern: string, count: number): void {
    this.answersToLose = { pattern, left: count };
  }

  get answersLeftToLose(): number {
    return this.answersToLose?.left ?? 0;
  }

  get open(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.dropAll();
    const listener = this.listener;
    this.listener = undefined;
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    this.accepted += 1;
    const server = net.connect(this.targetPort, this.targetHost);
    const pair: Pair = { client, server, armed: false };
    this.pairs.add(pair);
    this.pipe(client, server, pair);
    this.pipe(server, client, pair);
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      socket.on('error', () => this.close(pair));
      socket.on('close', () => {
        if (client.destroyed && server.destroyed) this.pairs.delete(pair);
      });
    }
  }

  /**
   * Copies `from` to `to`, each chunk (and the end) released `latencyMs` after
   * it came and never before the one ahead of it.
   */
  private pipe(from: net.Socket, to: net.Socket, pair: Pair): void {
    let lastReleaseAt = 0;
    const later = (action: () => void) => {
      if (this.latencyMs === 0 && lastReleaseAt <= Date.now()) return action();
      const releaseAt = Math.max(Date.now() + this.latencyMs, lastReleaseAt);
      lastReleaseAt = releaseAt;
      setTimeout(() => {
        if (this.pairs.has(pair)) action();
      }, releaseAt - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      const losing = this.answersToLose;
      if (from === pair.client && losing && losing.left > 0 && chunk.includes(losing.pattern)) {
        losing.left -= 1;
        pair.armed = true;
      } else if (from === pair.server && pair.armed) {
        // the server has answered (so, outside a transaction, committed): the answer is lost
        return this.close(pair);
      }
      later(() => to.write(chunk));
    });
    from.on('end', () => later(() => to.end()));
  }

  private close(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.resetAndDestroy();
    pair.server.resetAndDestroy();
  }
}
