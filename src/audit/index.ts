export { type AuditOptions, type AuditPhase, auditStore } from './audit.js';
export { openAuditStore } from './open.js';
export { diffReadModels, parseReadModelsUrl } from './read-models.js';
export * from './report.js';
