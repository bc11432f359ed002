export * from './errors.js';
export * from './decision.js';
export * from './destination.js';
export * from './events.js';
export * from './remedy.js';
export type * from './stage.js';
export * from './escapes.js';
export type * from './llm.js';
export type * from './process.js';
