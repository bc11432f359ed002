// Runs inside the sandbox: the official openai SDK, unchanged, pointed at an allowed host.
// It reaches it only because the Sluice preload routes fetch through the proxy.
const { default: OpenAI } = await import(`${process.env.SLUICE_NODE_MODULES}/openai/index.mjs`);
const client = new OpenAI({ apiKey: 'sk-sluice-placeholder', baseURL: `${process.env.ALLOWED_ORIGIN ?? 'https://allowed.test'}/v1`, maxRetries: 0, timeout: 8000 });
try {
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  console.log(completion.choices[0].message.content);
} catch (err) {
  console.log('ERR', err.message, err.cause?.message ?? '');
  process.exit(3);
}
