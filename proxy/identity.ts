import type http from 'node:http';
import { SluiceError } from '../core/index.js';

/**
 * Which sandbox a proxy client is. A listener dedicated to one sandbox (its own veth or bridge
 * address, reachable from that sandbox alone) knows without asking, and reads no header. On a
 * shared listener a client may prove an identity with the per-sandbox credential Sluice issues,
 * `Proxy-Authorization: Basic base64("sluice:<name>:<token>")`; a name without a valid token is
 * refused (407) rather than believed or silently ignored: a bare name is a claim anyone can make.
 */
export interface ListenerIdentity {
  /** Every client of this listener is this sandbox. */
  sandbox?: string;
  /** Shared listeners: is `token` the credential issued to sandbox `name`? */
  verifySandbox?(name: string, token: string): boolean;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const PROXY_USER = 'sluice';

export function identify(req: http.IncomingMessage, identity: ListenerIdentity): string | undefined {
  if (identity.sandbox !== undefined) return identity.sandbox;
  const auth = req.headers['proxy-authorization'];
  if (auth === undefined) return undefined;
  const refuse = (reason: string) => new SluiceError('SLUICE_PROXY_AUTH', `Proxy-Authorization refused: ${reason}`, { reason });
  if (!/^basic /i.test(auth)) throw refuse('only Basic credentials issued by Sluice (`sluice env --sandbox NAME`) are accepted');
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
  const [user, name, token, ...rest] = decoded.split(':');
  if (user !== PROXY_USER || name === undefined || token === undefined || rest.length > 0 || !NAME.test(name)) {
    throw refuse('expected sluice:<sandbox>:<token>; a sandbox name alone does not identify a client');
  }
  if (!identity.verifySandbox?.(name, token)) throw refuse(`the token is not the one issued to sandbox ${name}`);
  return name;
}
