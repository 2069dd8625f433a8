/**
 * The web UI's whole public surface: the HTTP module main.ts registers, and
 * the ports it needs (see ports.ts for why the UI talks through them).
 */
export { webHttpModule, type WebOptions } from './web.routes.tsx';
export type * from './ports.ts';
export { usersPort, operatorsPort, portalPort, batchesPort, type PortalDeps } from './adapters.ts';
