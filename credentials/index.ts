/**
 * credentials/: the only code that sees secret values. Sandboxes get placeholders shaped like
 * the real keys (`envFor`); the stage swaps them for real values on intercepted requests to the
 * provider's own endpoints, refuses them anywhere else, refuses real values everywhere, and
 * scrubs echoes from responses. Errors and events name providers, never values.
 */
export { createCredentials } from './credentials.js';
export type { Credentials, CredentialsOptions } from './credentials.js';
export { providersSchema } from './schema.js';
export type { ProvidersConfig, ProviderConfig } from './schema.js';
export { BUILTIN_PROFILES } from './profiles.js';
export type { BuiltinProfileName } from './profiles.js';
export { describeProviders } from './describe.js';
export type { ProviderBinding } from './describe.js';
