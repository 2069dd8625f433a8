/** The user center's whole public surface (wallets, depository accounts, recharge and withdraw records). */
export { WalletsService, maskCardNumber, type WalletsDeps, type WalletUser } from './wallets.service.ts';
export { walletsHttpModule } from './wallets.routes.ts';
export { walletsMigrations } from './wallets.migrations.ts';
export { CARD_REMOVED, type CardRemovedEvent } from './wallets.types.ts';
export type { BoundCard, DepositoryAccount, RechargeRecord, WithdrawRecord, RecordStatus } from './wallets.types.ts';
export { WalletAccounts, SELF_OPENED_TYPES, type WalletAccountsDeps } from './wallets.accounts.ts';
export { walletAccountsHttpModule } from './wallets.accounts.routes.ts';
