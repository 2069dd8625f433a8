/**
 * The transactional outbox: the module's whole public surface.
 *
 * - `publish` / `publishMany` write messages with the caller's transaction, so
 *   a message exists exactly when the state change it announces commits.
 * - `OutboxRelay` delivers committed messages to subscribers at least once;
 *   consumers must be idempotent.
 * - The inspection helpers serve the admin console and the CLI.
 */
export { publish, publishMany, outboxRows, toJsonPayload, OutboxPayloadError, type OutboxMessageInput } from './outbox.publish.ts';
export {
  OutboxRelay,
  backoffDelayMs,
  describeError,
  type OutboxRelayOptions,
  type OutboxForwarder,
  type OutboxBatchHandler,
  type OutboxMessage,
  type OutboxHandler,
  type OutboxLogger,
} from './outbox.relay.ts';
export {
  outboxStats,
  listParked,
  retryParked,
  findOutboxMessage,
  purgeDelivered,
  parkBrokerMessage,
  MAX_ERROR_LENGTH,
  type ClaimedMessage,
  type OutboxExecutor,
  type OutboxStats,
  type OutboxRecord,
  type OutboxMessageStatus,
} from './outbox.repository.ts';
export { outboxMigrations } from './outbox.migrations.ts';
