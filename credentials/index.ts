export { createCredentials } from './credentials.js';
export type { Credentials, CredentialsOptions } from './credentials.js';
export { providersSchema } from './schema.js';
export type { ProvidersConfig, ProviderConfig } from './schema.js';
export { BUILTIN_PROFILES } from './profiles.js';
