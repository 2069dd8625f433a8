/**
 * The NATS JetStream server the bus suites run against (127.0.0.1:4222 on
 * these machines; `.ci/run` starts it). Each suite gets its own stream and
 * subject prefix, so runs never see each other's messages.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { connect } from 'nats';

export const TEST_NATS_URL = process.env.TEST_NATS_URL || 'nats://127.0.0.1:4222';

let serverCheck: Promise<string | undefined> | undefined;

/** Undefined when the server answers with JetStream on; otherwise why not. */
function natsUnavailable(): Promise<string | undefined> {
  serverCheck ??= (async () => {
    try {
      const connection = await connect({ servers: TEST_NATS_URL, timeout: 3000, maxReconnectAttempts: 0 });
      try {
        await (await connection.jetstreamManager()).getAccountInfo();
        return undefined;
      } finally {
        await connection.close();
      }
    } catch (err) {
      return `NATS JetStream at ${TEST_NATS_URL} is not reachable (${(err as Error).message})`;
    }
  })();
  return serverCheck;
}

/**
 * `false` when the NATS suites can run, else the reason to skip them, said
 * loudly. In CI a missing server is a failure, not a skip.
 */
export async function natsSkip(): Promise<string | false> {
  const reason = await natsUnavailable();
  if (reason && process.env.CI) throw new Error(`${reason}; CI must run the NATS suites`);
  if (reason) console.warn(`\n!!! SKIPPING NATS JetStream tests: ${reason}\n`);
  return reason ?? false;
}

export interface TestStreamNames {
  natsStream: string;
  natsSubjectPrefix: string;
}

export function uniqueStreamNames(): TestStreamNames {
  const id = randomBytes(5).toString('hex');
  return { natsStream: `COFFER_TEST_${id}`, natsSubjectPrefix: `coffer_test_${id}.events` };
}

export async function deleteStream(name: string): Promise<void> {
  const connection = await connect({ servers: TEST_NATS_URL });
  try {
    const manager = await connection.jetstreamManager();
    await manager.streams.delete(name).catch(() => false);
  } finally {
    await connection.close();
  }
}

/** Messages the stream has ever stored (publishes it de-duplicated are not counted). */
export async function storedMessageCount(name: string): Promise<number> {
  const connection = await connect({ servers: TEST_NATS_URL });
  try {
    const info = await (await connection.jetstreamManager()).streams.info(name);
    return info.state.last_seq;
  } finally {
    await connection.close();
  }
}

/**
 * Whether the durable consumer has nothing waiting and nothing unacknowledged:
 * every ack its client sent has reached the broker. An ack still on its way
 * when the connection drops is lost, and the broker delivers the message
 * again (at least once).
 */
export async function consumerSettled(stream: string, durable: string): Promise<boolean> {
  const connection = await connect({ servers: TEST_NATS_URL });
  try {
    const info = await (await connection.jetstreamManager()).consumers.info(stream, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  } finally {
    await connection.close();
  }
}

/**
 * A TCP proxy in front of the NATS server, so a test can take the broker
 * away from Coffer (`cut`: stop listening and drop every connection) and give
 * it back on the same port (`restore`).
 */
export class BrokerProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  /** Picks a free port; the broker starts out unreachable until `restore`. */
  async reservePort(): Promise<string> {
    await this.restore();
    await this.cut();
    return `nats://127.0.0.1:${this.port}`;
  }

  async restore(): Promise<void> {
    const target = new URL(TEST_NATS_URL);
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
