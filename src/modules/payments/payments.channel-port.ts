/**
 * The connector interface of contract.md, until the channels helper's
 * payments.connector.ts lands (then this file goes and imports point there).
 */
import type { ChannelPaymentResult, ConfirmData, DebitData, SendSmsData, SendSmsResultData } from '../../protocol/payment-channel.ts';

export interface ChannelConnector {
  sendSms(channelCode: string, data: Omit<SendSmsData, 'timestamp'>): Promise<ChannelCallOutcome<SendSmsResultData>>;
  confirm(channelCode: string, data: Omit<ConfirmData, 'timestamp'>): Promise<ChannelCallOutcome<ChannelPaymentResult>>;
  debit(channelCode: string, data: Omit<DebitData, 'timestamp'>): Promise<ChannelCallOutcome<ChannelPaymentResult>>;
  query(channelCode: string, attemptNo: string): Promise<ChannelCallOutcome<ChannelPaymentResult>>;
}

export type ChannelCallOutcome<T> =
  | { kind: 'answered'; httpStatus: number; data: T }
  | { kind: 'unreachable'; error: string }
  | { kind: 'unknown'; error: string };
