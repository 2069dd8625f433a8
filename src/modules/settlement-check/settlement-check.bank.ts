import { createHash, type KeyObject } from 'node:crypto';
import type { BankPublicKey } from '../../platform/bank-key.ts';
import { DomainError } from '../../platform/errors.ts';
import { signText, verifyText } from '../../protocol/depository.ts';
import { STATEMENT_PATH, statementKinds, type StatementData, type StatementLine, type StatementRequestData } from '../../protocol/statement.ts';

const STATEMENT_TIMEOUT_MS = 30_000;

export interface StatementSource {
  /** The bank's statement of `date`, believed only once the bank's signature over it verifies. */
  statement(date: string): Promise<VerifiedStatement>;
}

export interface VerifiedStatement {
  data: StatementData;
  /** SHA-256 (hex) of the signed text, kept with the run: which statement the result rests on. */
  sha256: string;
}

export interface BankStatementDeps {
  bankUrl: string;
  platformNo: string;
  platformPrivateKey: KeyObject;
  bankPublicKey: BankPublicKey;
  fetch?: typeof fetch;
}

/**
 * Asks the bank for a day's statement with a platform-signed request and
 * verifies the bank's signature over the answer before reading a line of it
 * (BANK_STATEMENT_UNVERIFIED otherwise; SERVICE_UNAVAILABLE while the bank
 * cannot be reached or refuses).
 */
export class BankStatements implements StatementSource {
  constructor(private readonly deps: BankStatementDeps) {}

  async statement(date: string): Promise<VerifiedStatement> {
    const { deps } = this;
    // The wall clock: the request's time is about the outside world, not business dates.
    const request: StatementRequestData = { date, timestamp: new Date().toISOString() };
    const reqData = JSON.stringify(request);
    const query = new URLSearchParams({ platformNo: deps.platformNo, reqData, signature: signText(reqData, deps.platformPrivateKey) });
    let response: Response;
    try {
      response = await (deps.fetch ?? fetch)(`${deps.bankUrl}${STATEMENT_PATH}/${date}?${query}`, { signal: AbortSignal.timeout(STATEMENT_TIMEOUT_MS) });
    } catch (err) {
      throw new DomainError('SERVICE_UNAVAILABLE', `The bank's statement service cannot be reached: ${(err as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) throw new DomainError('SERVICE_UNAVAILABLE', `The bank refused the statement request (${response.status}): ${text.slice(0, 200)}`);
    let answer: { reqData?: unknown; signature?: unknown } | null;
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      answer = null;
    }
    if (typeof answer?.reqData !== 'string' || !verifyText(answer.reqData, answer.signature as string | undefined, deps.bankPublicKey.get())) {
      throw new DomainError('BANK_STATEMENT_UNVERIFIED', `The statement of ${date} is not signed by the bank: it is not believed`);
    }
    const data = parseStatement(answer.reqData);
    if (!data || data.platformNo !== deps.platformNo || data.date !== date) {
      throw new DomainError('BANK_STATEMENT_UNVERIFIED', `The bank's signed statement is not the one asked for (${date}, platform ${deps.platformNo}) or cannot be read`);
    }
    return { data, sha256: createHash('sha256').update(answer.reqData).digest('hex') };
  }
}

function parseStatement(text: string): StatementData | undefined {
  let value: Partial<StatementData> | null;
  try {
    value = JSON.parse(text) as Partial<StatementData> | null;
  } catch {
    return undefined;
  }
  if (!value || typeof value.platformNo !== 'string' || typeof value.date !== 'string' || !Array.isArray(value.lines)) return undefined;
  const lineOk = (line: Partial<StatementLine>) =>
    statementKinds.includes(line.kind as StatementLine['kind']) &&
    [line.id, line.service, line.amount, line.currency, line.status, line.finalAt].every((f) => typeof f === 'string');
  return value.lines.every(lineOk) ? (value as StatementData) : undefined;
}
