/**
 * Incoming bank transfers (issue 4 item 1): someone wires money to the
 * platform's bank account naming a payee account — a merchant's settlement
 * account number in Coffer's ledger — and the bank tells Coffer.
 *
 * Same keys, signatures, delivery and retries as a depository notification
 * (./depository.ts): the bank sends
 *   GET {notifyUrl}?serviceName=TRANSFER_IN&platformNo=...&signature=...&reqData=...
 * with reqData a TransferInData JSON text signed by the bank's private key, and
 * retries on its schedule until the body is exactly `OK`. The transfer number
 * is the idempotency key: the same transfer notified again moves money once.
 */
export const TRANSFER_IN_NOTIFICATION = 'TRANSFER_IN';

/** Where on Coffer the bank sends them (below Coffer's PUBLIC_URL). */
export const TRANSFER_IN_NOTIFY_PATH = '/channel/transfer-in-notifications';

export interface TransferInData {
  /** The bank's reference of the transfer: unique, Coffer's idempotency key. */
  transferNo: string;
  /** The account number the payer named (a Coffer ledger account number). */
  payeeAccountNo: string;
  /** Decimal string in `currency`. */
  amount: string;
  currency: string;
  payerName: string;
  /** When the bank received the money (ISO-8601). */
  timestamp: string;
}

export const TRANSFER_NO = /^[0-9A-Za-z_.:-]{1,64}$/;
export const PAYEE_ACCOUNT_NO = /^[0-9A-Za-z]{4,34}$/;
const MAX_PAYER_NAME = 128;

/**
 * The shape of a TransferInData text, or why not. Amounts are only checked to
 * be strings here: each side parses them against the currency's exponent with
 * its own money module.
 */
export function parseTransferIn(reqData: string): TransferInData | string {
  let data: Partial<Record<keyof TransferInData, unknown>>;
  try {
    data = JSON.parse(reqData) as typeof data;
  } catch {
    return 'reqData is not JSON';
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'reqData must be a JSON object';
  if (typeof data.transferNo !== 'string' || !TRANSFER_NO.test(data.transferNo)) return 'transferNo must be 1-64 letters, digits or _.:-';
  if (typeof data.payeeAccountNo !== 'string' || !PAYEE_ACCOUNT_NO.test(data.payeeAccountNo)) return 'payeeAccountNo must be 4-34 letters or digits';
  if (typeof data.amount !== 'string') return 'amount must be a decimal string';
  if (typeof data.currency !== 'string' || !/^[A-Z]{3}$/.test(data.currency)) return 'currency must be a three-letter code';
  if (typeof data.payerName !== 'string' || data.payerName.trim().length === 0 || data.payerName.length > MAX_PAYER_NAME) {
    return `payerName must be 1-${MAX_PAYER_NAME} characters`;
  }
  if (typeof data.timestamp !== 'string' || Number.isNaN(Date.parse(data.timestamp))) return 'timestamp must be an ISO-8601 time';
  return data as TransferInData;
}
