/** The depository agent's whole public surface (seed 000's 存管代理). */
export { DepositoryAgent, newRequestNo, validCallbackUrl, type DepositoryDeps, type SettleOutcome } from './depository.service.ts';
export { depositoryHttpModule } from './depository.routes.ts';
export { depositoryMigrations } from './depository.migrations.ts';
export {
  DEPOSITORY_SETTLED,
  type DepositorySettledEvent,
  type DepositoryTransaction,
  type PrepareInput,
  type TransactionRecordStatus,
} from './depository.types.ts';
export { GatewayRequestView } from './depository.schemas.ts';
