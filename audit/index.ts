export { createAuditLog } from './audit-log.js';
export type { AuditLog, AuditLogOptions } from './audit-log.js';
export { OCSF_VERSION, toOcsf } from './ocsf.js';
export { formatHuman } from './human.js';
