/**
 * app/: the composition root. Builds a Sluice from a policy (the stages in order, the listener,
 * reload); the only module that knows every other one.
 */
export { startSluice, PolicyLoadError } from './sluice.js';
export type { Sluice, SluiceOptions, ReloadResult } from './sluice.js';
export type { Pipeline, PipelineOptions } from './pipeline.js';
export { explain } from './explain.js';
export type { ExplainOptions, Explanation } from './explain.js';
