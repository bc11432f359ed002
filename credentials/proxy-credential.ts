import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The credential a sandbox presents to a shared proxy listener: an HMAC of its name under the
 * state key (`<home>/credentials.key`), so `sluice env` and a running gateway agree without
 * talking, and a sandbox that holds its own cannot compute another's. Listeners dedicated to
 * one sandbox do not need it: their address already says who is calling.
 */
export interface ProxyCredentials {
  tokenFor(sandbox: string): string;
  verify(sandbox: string, token: string): boolean;
}

export function createProxyCredentials(stateKey: Buffer): ProxyCredentials {
  const key = Buffer.from(stateKey);
  const tokenFor = (sandbox: string) => createHmac('sha256', key).update(`sluice-proxy-credential\0${sandbox}`).digest('base64url');
  return {
    tokenFor,
    verify(sandbox, token) {
      const expected = Buffer.from(tokenFor(sandbox));
      const given = Buffer.from(token);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
