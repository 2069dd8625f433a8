import type { ServiceName } from '../../protocol/depository.ts';

/** A transaction record's life: PENDING until the bank's signed word settles it, once. */
export const transactionRecordStatuses = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type TransactionRecordStatus = (typeof transactionRecordStatuses)[number];

/** The only moves a record may make (the repository's guarded UPDATE enforces them in the database). */
export const Transitions: Readonly<Record<TransactionRecordStatus, readonly TransactionRecordStatus[]>> = {
  PENDING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: [],
};

export function assertTransition(from: TransactionRecordStatus, to: TransactionRecordStatus): void {
  if (!Transitions[from].includes(to)) throw new Error(`depository transaction cannot move ${from} -> ${to}`);
}

export interface DepositoryTransaction {
  requestNo: string;
  serviceName: ServiceName;
  userNo: string;
  amountMinor: bigint | null;
  feeMinor: bigint | null;
  currency: string;
  cardNumberMasked: string | null;
  status: TransactionRecordStatus;
  /** True once the bank's result is recorded (the seed's "synced"). */
  synced: boolean;
  /** The signed reqData sent to the bank, as sent. */
  requestData: string;
  /** The bank's signed reqData that settled the record, as received. */
  resultData: string | null;
  errorCode: string | null;
  queryAttempts: number;
  /** After this the bank never executes the request (null for records from before requests expired). */
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  settledAt: Date | null;
}

/** Topic of the event the agent publishes when a record settles; the user center consumes it. */
export const DEPOSITORY_SETTLED = 'depository.settled';

/** Payload of DEPOSITORY_SETTLED. Amounts are decimal strings in `currency`. */
export interface DepositorySettledEvent {
  requestNo: string;
  serviceName: ServiceName;
  userNo: string;
  status: 'SUCCEEDED' | 'FAILED';
  amount: string | null;
  fee: string | null;
  currency: string;
  errorCode: string | null;
  errorMessage: string | null;
  cardNumberMasked: string | null;
  bankCode: string | null;
  settledAt: string;
}

export interface PrepareInput {
  userNo: string;
  /** Minor units in `currency`; RECHARGE and WITHDRAW. */
  amountMinor?: bigint;
  feeMinor?: bigint;
  currency: string;
  callbackUrl: string;
  cardNumberMasked?: string;
  mobile?: string;
  /** A request number the caller drew with newRequestNo() (e.g. to key a ledger hold on it first). */
  requestNo?: string;
}
