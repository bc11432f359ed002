import type { ProxyEndpoint } from './types.js';

/** Fixed paths inside every sandbox, whatever the driver. */
export const IN_SANDBOX = {
  dir: '/sluice',
  preload: '/sluice/preload.mjs',
  undici: '/sluice/node_modules/undici',
  ca: '/sluice/ca.pem',
  bundle: '/sluice/ca-bundle.pem',
} as const;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PROXY_USER = 'sluice';

/** `http://[sluice:<token>@]host:port`: every client below understands credentials in the URL. */
export function proxyUrl(proxy: Pick<ProxyEndpoint, 'host' | 'port' | 'authToken'>): string {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  const auth = proxy.authToken ? `${PROXY_USER}:${encodeURIComponent(proxy.authToken)}@` : '';
  return `http://${auth}${host}:${proxy.port}`;
}

/**
 * The whole environment of the sandboxed command: nothing leaks in from the host except TERM.
 * Proxy variables come in both cases because curl reads only lowercase http_proxy and Go only
 * uppercase; NO_PROXY covers loopback only, which inside the sandbox is the sandbox's own.
 * NODE_USE_ENV_PROXY makes Node >= 24 honour the variables natively; the preload does it for
 * Node 20/22, whose fetch ignores them. NODE_EXTRA_CA_CERTS gets the Sluice CA alone (Node adds it
 * to its built-in store); the other tools replace their store, so they get the combined bundle.
 */
export function sandboxEnv(opts: {
  proxy: Pick<ProxyEndpoint, 'host' | 'port' | 'authToken'>;
  name: string;
  user?: Record<string, string>;
  tty?: boolean;
  home?: string;
}): Record<string, string> {
  const url = proxyUrl(opts.proxy);
  const user = opts.user ?? {};
  const nodeOptions = [`--import ${IN_SANDBOX.preload}`, user.NODE_OPTIONS].filter(Boolean).join(' ');
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: opts.home ?? '/tmp',
    LANG: 'C.UTF-8',
    ...user,
    SLUICE_SANDBOX: opts.name,
    NODE_OPTIONS: nodeOptions,
    NODE_USE_ENV_PROXY: '1',
    NODE_EXTRA_CA_CERTS: IN_SANDBOX.ca,
    SSL_CERT_FILE: IN_SANDBOX.bundle,
    REQUESTS_CA_BUNDLE: IN_SANDBOX.bundle,
    CURL_CA_BUNDLE: IN_SANDBOX.bundle,
    GIT_SSL_CAINFO: IN_SANDBOX.bundle,
    PIP_CERT: IN_SANDBOX.bundle,
  };
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) {
    env[name] = url;
    env[name.toLowerCase()] = url;
  }
  env.NO_PROXY = env.no_proxy = 'localhost,127.0.0.1,::1';
  if (opts.tty && process.env.TERM && !user.TERM) env.TERM = process.env.TERM;
  return env;
}
