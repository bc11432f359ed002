import type { EventBus } from '../core/index.js';
import { SluiceError } from '../core/index.js';
import type { Stage } from '../core/index.js';
import type { Keyring } from './keyring.js';
import { buildKeyring, withRouted } from './keyring.js';
import type { BuiltinProfileName } from './profiles.js';
import type { PlaceholderShape } from './placeholders.js';
import { createPlaceholderMinter, shapePattern } from './placeholders.js';
import { createViewCache } from './sandbox-view.js';
import type { ProvidersConfig } from './schema.js';
import { createCredentialStage } from './stage.js';
import { loadStateKey } from './state-key.js';
import { scrubTextCaseless } from './stream-scanner.js';
import { createProxyCredentials } from './proxy-credential.js';

export interface Credentials {
  /** Placeholder env for a sandbox, e.g. { OPENAI_API_KEY: 'sk-proj-…' }: the same in every process sharing `home`; routed providers' included. */
  envFor(sandbox: string): Record<string, string>;
  /** Placeholder → real value after the allow decision, endpoint binding, exfiltration guard, response scrubbing. */
  readonly stage: Stage;
  /** For the privacy router: headers carrying the named provider's real credential. Throws SluiceError if unknown. */
  headersFor(provider: string): Record<string, string>;
  /** Built-in providers whose calls the routes answer (keyring.ts withRouted): their placeholders are issued too. */
  /** `hosts`: the configured LLM hosts (inference.hosts), where OpenAI's and Anthropic's routed placeholders are accepted too. */
  setRouted(names: readonly BuiltinProfileName[], hosts?: readonly string[]): void;
  /** Re-reads secrets and config; on failure throws (naming the provider, never the value) and keeps the old state. */
  reload(config: ProvidersConfig | undefined): Promise<void>;
  /**
   * True when `value` is a Sluice placeholder (for any sandbox, issued or revoked). Other
   * scanners (egress DLP) skip these: they look like API keys on purpose, and this stage gives
   * them the precise verdict (inject, endpoint mismatch, unknown).
   */
  isPlaceholder(value: string): boolean;
  /** Names of the configured providers. */
  providers(): string[];
  /** Every spelling of every real secret out of a string bound for a log, in any letter case (host names arrive lowercased). */
  scrubForLog(text: string): string;
  /** The credential sandbox `name` proves itself with on a shared proxy listener (see proxy-credential.ts). */
  proxyTokenFor(sandbox: string): string;
  verifyProxyToken(sandbox: string, token: string): boolean;
  close(): void;
}

export interface CredentialsOptions {
  /** Sluice's state folder; holds credentials.key (0600). */
  home: string;
  /** Where env: sources are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  bus: EventBus;
  /** Folder relative file: paths are resolved against (the policy file's); default cwd. */
  baseDir?: string;
  /** For `sluice env`: issue placeholders without reading (or needing) any secret. */
  placeholdersOnly?: boolean;
  /** Cap for opt-in request-body injection; default 1 MiB. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

function shapeRegex(shape: PlaceholderShape): RegExp {
  return new RegExp(`^${shapePattern(shape)}$`);
}

export async function createCredentials(config: ProvidersConfig | undefined, opts: CredentialsOptions): Promise<Credentials> {
  const sourceOpts = {
    env: opts.env ?? process.env,
    ...(opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {}),
    ...(opts.placeholdersOnly ? { placeholdersOnly: true } : {}),
  };
  let base = await buildKeyring(config, sourceOpts);
  let routed: readonly BuiltinProfileName[] = [];
  let routedHosts: readonly string[] = [];
  let keyring: Keyring | undefined = base;
  const stateKey = await loadStateKey(opts.home);
  const minter = createPlaceholderMinter(stateKey);
  const proxyCredentials = createProxyCredentials(stateKey);
  const views = createViewCache(minter);

  function live(): Keyring {
    if (!keyring) throw new SluiceError('SLUICE_INTERNAL', 'credentials are closed');
    return keyring;
  }

  const stage = createCredentialStage({
    current: () => {
      const k = keyring;
      return k ? { keyring: k, viewFor: (sandbox: string) => views.viewFor(k, sandbox) } : undefined;
    },
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
  });

  return {
    stage,
    envFor(sandbox) {
      const k = live();
      const view = views.viewFor(k, sandbox);
      const env: Record<string, string> = {};
      for (const provider of k.providers.values()) {
        for (const name of provider.env) env[name] = view.placeholderOf.get(provider.name)!;
      }
      return env;
    },
    headersFor(name) {
      const provider = live().providers.get(name);
      if (!provider) throw new SluiceError('SLUICE_CREDENTIAL_UNKNOWN', `no provider named "${name}" is configured`, { reason: `add "${name}" under providers:` });
      if (provider.routedOnly) throw new SluiceError('SLUICE_CREDENTIAL_UNKNOWN', `provider "${name}" is not configured (only routed calls use its name)`, { reason: `add "${name}" under providers:` });
      const secret = provider.secret;
      if (secret === undefined) throw new SluiceError('SLUICE_INTERNAL', `provider "${name}" was loaded without its secret`);
      const inject = provider.inject;
      if ('header' in inject) return { [inject.header.toLowerCase()]: (inject.format ?? '{}').replace('{}', secret) };
      if ('basic' in inject) {
        const pair = `${inject.basic.user.replace('{}', secret)}:${inject.basic.password.replace('{}', secret)}`;
        return { authorization: `Basic ${Buffer.from(pair, 'utf8').toString('base64')}` };
      }
      throw new SluiceError('SLUICE_INTERNAL', `provider "${name}" is injected as a query parameter, not a header`);
    },
    async reload(next) {
      live();
      base = await buildKeyring(next, sourceOpts);
      keyring = withRouted(base, routed, routedHosts);
    },
    setRouted(names, hosts = []) {
      live();
      routed = [...names];
      routedHosts = [...hosts];
      keyring = withRouted(base, routed, routedHosts);
    },
    isPlaceholder(value) {
      const k = keyring;
      if (!k) return false;
      return k.shapes.some((shape) => shapeRegex(shape).test(value) && minter.isOurs(shape, value));
    },
    providers() {
      return [...live().providers.values()].filter((p) => !p.routedOnly).map((p) => p.name);
    },
    scrubForLog(text) {
      const k = keyring;
      if (!k || k.patterns.length === 0) return text;
      return scrubTextCaseless(k.patterns, text, (p) => `[REDACTED:${p.provider}]`);
    },
    proxyTokenFor: (sandbox) => proxyCredentials.tokenFor(sandbox),
    verifyProxyToken: (sandbox, token) => proxyCredentials.verify(sandbox, token),
    close() {
      keyring = undefined;
    },
  };
}
