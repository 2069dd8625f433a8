/**
 * Coffer's side of the card payment channels (src/protocol/payment-channel.ts):
 * one signed POST per operation, the answer believed only once the bank's
 * signature over it checks out and it is about the attempt that was sent.
 * No logging here, so a card number can never reach a log line; the error
 * strings name only what went wrong on the wire.
 */
import type { KeyObject } from 'node:crypto';
import { signTextOffThread, verifyText } from '../../protocol/depository.ts';
import {
  type ChannelOperation,
  type ChannelPaymentResult,
  channelPaymentStatuses,
  type ConfirmData,
  type DebitData,
  type QueryData,
  type SendSmsData,
  type SendSmsResultData,
} from '../../protocol/payment-channel.ts';
import type { BankPublicKey } from '../../platform/bank-key.ts';
import { parseJsonOrUndefined } from '../../platform/json.ts';

export interface ChannelConnector {
  sendSms(channelCode: string, data: Omit<SendSmsData, 'timestamp'>): Promise<ChannelCallOutcome<SendSmsResultData>>;
  confirm(channelCode: string, data: Omit<ConfirmData, 'timestamp'>): Promise<ChannelCallOutcome<ChannelPaymentResult>>;
  debit(channelCode: string, data: Omit<DebitData, 'timestamp'>): Promise<ChannelCallOutcome<ChannelPaymentResult>>;
  query(channelCode: string, attemptNo: string): Promise<ChannelCallOutcome<ChannelPaymentResult>>;
}

/**
 * answered: a verified, signed answer (HTTP 503 with a signed CHANNEL_UNAVAILABLE
 * is answered too: the channel says it did nothing). unreachable: the request
 * surely never reached the channel (connection refused / DNS) -> safe to try
 * elsewhere. unknown: sent but no (valid) answer: time-out, reset after send,
 * unsigned refusal, bad signature -> must be QUERIED, never retried elsewhere.
 */
export type ChannelCallOutcome<T> =
  | { kind: 'answered'; httpStatus: number; data: T }
  | { kind: 'unreachable'; error: string }
  | { kind: 'unknown'; error: string };

export interface HttpChannelConnectorDeps {
  /** The channel's endpoint root, e.g. `${bankUrl}/channels/${channelCode}`. */
  baseUrl: (channelCode: string) => string;
  platformNo: string;
  platformPrivateKey: KeyObject;
  bankPublicKey: BankPublicKey;
  /** How long one call may take, from sending to the whole answer read. */
  timeoutMs: number;
}

const SMS_STATUSES: readonly string[] = ['SMS_SENT', 'FAILED'];
const PAYMENT_STATUSES: readonly string[] = channelPaymentStatuses;

/** Node's fetch keeps connections alive by default, so calls to one channel reuse their sockets. */
export class HttpChannelConnector implements ChannelConnector {
  constructor(private readonly deps: HttpChannelConnectorDeps) {}

  sendSms(channelCode: string, data: Omit<SendSmsData, 'timestamp'>): Promise<ChannelCallOutcome<SendSmsResultData>> {
    return this.call<SendSmsResultData>(channelCode, 'SEND_SMS', data, SMS_STATUSES);
  }

  confirm(channelCode: string, data: Omit<ConfirmData, 'timestamp'>): Promise<ChannelCallOutcome<ChannelPaymentResult>> {
    return this.call<ChannelPaymentResult>(channelCode, 'CONFIRM', data, PAYMENT_STATUSES);
  }

  debit(channelCode: string, data: Omit<DebitData, 'timestamp'>): Promise<ChannelCallOutcome<ChannelPaymentResult>> {
    return this.call<ChannelPaymentResult>(channelCode, 'DEBIT', data, PAYMENT_STATUSES);
  }

  query(channelCode: string, attemptNo: string): Promise<ChannelCallOutcome<ChannelPaymentResult>> {
    return this.call<ChannelPaymentResult>(channelCode, 'QUERY', { attemptNo } satisfies Omit<QueryData, 'timestamp'>, PAYMENT_STATUSES);
  }

  /**
   * Throws only when the bank's public key cannot be loaded (configuration,
   * a DomainError): then nothing is sent, since no answer could be believed.
   */
  private async call<T extends { attemptNo: string; status: string }>(
    channelCode: string,
    operation: ChannelOperation,
    data: { attemptNo: string },
    statuses: readonly string[],
  ): Promise<ChannelCallOutcome<T>> {
    const bankKey = this.deps.bankPublicKey.get();
    const reqData = JSON.stringify({ ...data, timestamp: new Date().toISOString() });
    const signature = await signTextOffThread(reqData, this.deps.platformPrivateKey);
    let httpStatus: number;
    let text: string;
    try {
      const response = await fetch(`${this.deps.baseUrl(channelCode)}/${operation}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ platformNo: this.deps.platformNo, reqData, signature }),
        signal: AbortSignal.timeout(this.deps.timeoutMs),
      });
      httpStatus = response.status;
      text = await response.text();
    } catch (err) {
      const why = describeFailure(err);
      return neverSent(err) ? { kind: 'unreachable', error: why } : { kind: 'unknown', error: why };
    }
    const answer = believedAnswer<T>(text, bankKey, data.attemptNo, statuses);
    if (typeof answer === 'string') return { kind: 'unknown', error: `${operation} at ${channelCode}: HTTP ${httpStatus}, ${answer}` };
    return { kind: 'answered', httpStatus, data: answer };
  }
}

/** The signed answer's data, or why it cannot be believed. */
function believedAnswer<T extends { attemptNo: string; status: string }>(
  text: string,
  bankKey: KeyObject,
  attemptNo: string,
  statuses: readonly string[],
): T | string {
  const envelope = parseJsonOrUndefined(text) as { reqData?: unknown; signature?: unknown; code?: unknown } | undefined;
  if (typeof envelope?.reqData !== 'string') {
    return typeof envelope?.code === 'string' ? `refused unsigned (${envelope.code})` : 'no signed answer';
  }
  if (!verifyText(envelope.reqData, envelope.signature as string | undefined, bankKey)) return 'the answer is not signed by the bank';
  const result = parseJsonOrUndefined(envelope.reqData) as Partial<T> | undefined;
  if (result?.attemptNo !== attemptNo) return 'the signed answer is about another attempt';
  if (typeof result.status !== 'string' || !statuses.includes(result.status)) return `the signed answer has an unknown status ${JSON.stringify(result.status)}`;
  return result as T;
}

const NEVER_SENT_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'];

/** Connection refused or a name that does not resolve: no byte of the request reached the channel. */
function neverSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  if (!cause) return false;
  // Several addresses tried (happy eyeballs): never sent only if every one of them refused.
  const codes = cause.errors?.length ? cause.errors.map((e) => e?.code) : [cause.code];
  return codes.every((code) => NEVER_SENT_CODES.includes(code as string));
}

function describeFailure(err: unknown): string {
  const error = err as { name?: string; message?: string; cause?: { code?: unknown } };
  const code = typeof error.cause?.code === 'string' ? ` (${error.cause.code})` : '';
  return `${error.name ?? 'Error'}: ${error.message ?? String(err)}${code}`;
}
