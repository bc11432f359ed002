/** Protocol-faithful fake LLM backends on 127.0.0.1:0, for tests and the bench. */
export { createFakeOllama } from './ollama.js';
export { createFakeOpenAI } from './openai.js';
export type { FakeOpenAIOptions } from './openai.js';
export { createFakeAnthropic } from './anthropic.js';
export { createFakeResponses } from './responses.js';
export { createFakeGemini } from './gemini.js';
export { DEFAULT_REPLY } from './server.js';
export type { FakeBackend, FakeOptions, RecordedRequest, Reply, ReplyScript, ToolCallScript } from './server.js';
export { createFakeCopilot, COPILOT_API_HOST } from './copilot.js';
export type { FakeCopilotOptions } from './copilot.js';
