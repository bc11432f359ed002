// Sluice sandbox preload, loaded by NODE_OPTIONS=--import. Node 20/22's fetch ignores
// HTTP(S)_PROXY; installing undici's EnvHttpProxyAgent as the global dispatcher makes fetch, and
// every SDK built on it (openai, @anthropic-ai/sdk, ollama), use the proxy with no code change.
// undici is imported by path from a copy Sluice mounts read-only: the sandbox need not have it.
// Node >= 24 with NODE_USE_ENV_PROXY=1 does this natively; the dispatcher below is then harmless.
try {
  const { EnvHttpProxyAgent, setGlobalDispatcher } = await import('/sluice/node_modules/undici/index.js');
  setGlobalDispatcher(new EnvHttpProxyAgent());
} catch (err) {
  // Never fatal: without the dispatcher fetch fails closed (the sandbox has no other way out).
  process.emitWarning(`sluice preload: proxy dispatcher not installed: ${err && err.message}`);
}
