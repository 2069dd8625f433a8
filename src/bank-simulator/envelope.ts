/**
 * The signed server-to-server envelope every channel of the simulator shares
 * (payouts, card payment channels): the platform's `{platformNo, reqData,
 * signature}` checked before anything reads reqData, and answers
 * `{reqData, signature}` signed by the bank's key.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { signText, verifyText } from '../protocol/depository.ts';
import { type BankContext, PlatformKeyMissingError } from './context.ts';

export interface SignedMessage {
  platformNo?: unknown;
  reqData?: unknown;
  signature?: unknown;
}

export interface SignedBody {
  reqData: string;
  signature: string;
}

/** A request refused before anything was stored: answered as a plain problem, not signed. */
export interface Refusal {
  ok: false;
  status: 400 | 404 | 409 | 503;
  code: string;
  detail: string;
}

export function refused(status: Refusal['status'], code: string, detail: string): Refusal {
  return { ok: false, status, code, detail };
}

/** Checks platform number and signature of a server-to-server message; the text it covers, or why not. */
export function verifiedPlatformMessage(ctx: BankContext, message: SignedMessage): { reqData: string } | Refusal {
  if (message.platformNo !== ctx.config.platformNo) {
    return refused(400, 'UNKNOWN_PLATFORM', `The platform "${String(message.platformNo)}" has no contract with this bank.`);
  }
  if (typeof message.reqData !== 'string') return refused(400, 'VALIDATION_FAILED', 'reqData must be the JSON text the signature covers.');
  try {
    if (!verifyText(message.reqData, message.signature as string | undefined, ctx.platformKey.get())) {
      return refused(400, 'INVALID_SIGNATURE', "The signature does not match the platform's public key.");
    }
  } catch (err) {
    if (err instanceof PlatformKeyMissingError) return refused(503, 'SERVICE_UNAVAILABLE', err.message);
    throw err;
  }
  return { reqData: message.reqData };
}

/** The bank's answer carrying this reqData text exactly (a stored result is answered as it was first written). */
export function signedText(ctx: BankContext, reqData: string): SignedBody {
  return { reqData, signature: signText(reqData, ctx.bankPrivateKey) };
}

export function signedByBank(ctx: BankContext, data: object): SignedBody {
  return signedText(ctx, JSON.stringify(data));
}

/**
 * Answers a channel holds back on purpose (an order that "times out", a slow
 * channel): each is released when its time is up, when its caller goes away,
 * or when the server closes.
 */
export class HeldAnswers {
  private readonly releases = new Set<() => void>();

  constructor(app: FastifyInstance) {
    app.addHook('preClose', async () => {
      for (const release of this.releases) release();
    });
  }

  /** True when the time ran out with the caller still waiting; false when it left or the server is closing. */
  hold(req: FastifyRequest, ms: number): Promise<boolean> {
    const socket = req.raw.socket;
    if (socket.destroyed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const finish = (timeUp: boolean) => {
        clearTimeout(timer);
        socket.off('close', release);
        this.releases.delete(release);
        resolve(timeUp);
      };
      const release = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      this.releases.add(release);
      socket.once('close', release);
    });
  }
}
