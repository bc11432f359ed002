import tls from 'node:tls';

/**
 * Secure contexts that already hold the (one, shared) leaf key, made ahead of need. Loading a
 * PEM key is the slowest part of a new context under OpenSSL 3 (~0.3 ms of a ~0.6 ms mint), and
 * the key is the same for every host: so a few keyed contexts wait ready, refilled when the
 * event loop is idle, and minting only adds the host's certificate chain.
 */
interface NativeContext {
  setCert(cert: string): void;
}

export interface KeyedContexts {
  /** A context presenting `chainPem` with the shared key. */
  withChain(chainPem: string): tls.SecureContext;
  close(): void;
}

export function createKeyedContexts(keyPem: string, spares = 4): KeyedContexts {
  const ready: tls.SecureContext[] = [];
  let refilling: NodeJS.Immediate | undefined;
  let closed = false;
  const make = () => tls.createSecureContext({ key: keyPem });
  // An internal of Node's SecureContext; where it is missing, every mint builds a whole context.
  const native = (ctx: tls.SecureContext) => (ctx as unknown as { context?: Partial<NativeContext> }).context;
  const supported = typeof native(make())?.setCert === 'function';

  const refill = () => {
    refilling = undefined;
    if (closed || ready.length >= spares) return;
    ready.push(make());
    refilling = setImmediate(refill);
    refilling.unref();
  };

  return {
    withChain(chainPem) {
      if (!supported) return tls.createSecureContext({ key: keyPem, cert: chainPem });
      const ctx = ready.pop() ?? make();
      (native(ctx) as NativeContext).setCert(chainPem);
      if (!refilling && !closed) {
        refilling = setImmediate(refill);
        refilling.unref();
      }
      return ctx;
    },
    close() {
      closed = true;
      if (refilling) clearImmediate(refilling);
      ready.length = 0;
    },
  };
}
