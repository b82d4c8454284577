export * from './envelope.js';
export * from './schemas.js';
