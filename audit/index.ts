/**
 * The audit trail: every event on the bus becomes one OCSF 1.x JSON line.
 *
 *   const audit = createAuditLog(bus, { file: path.join(home, 'audit.jsonl'), human: verbose ? process.stderr : undefined });
 *   …
 *   await audit.close();   // on SIGINT/SIGTERM, before exiting: writes what is still queued
 */
export { createAuditLog } from './audit-log.js';
export type { AuditLineListener, AuditLog, AuditLogOptions } from './audit-log.js';
export { OCSF_VERSION, toOcsf, ocsfLine } from './ocsf.js';
export { formatHuman } from './human.js';
export { eventFromOcsf, sandboxOfEvent } from './parse.js';
export { readAuditLog } from './read.js';
export type { AuditEntry, ReadAuditOptions } from './read.js';
export { oneLine } from './scrub.js';
export { scrubEvent } from './scrub-event.js';
