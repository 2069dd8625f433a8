import type { Migration } from 'kysely/migration';

export const outboxMigrations: Record<string, Migration> = {};
