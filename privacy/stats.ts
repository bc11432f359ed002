import type { ChatEvent } from './translate/index.js';

/** What the llm_call audit event reports about one call, filled in as the answer streams. */
export class CallStats {
  readonly started = performance.now();
  status = 0;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  ttftMs: number | undefined;
  requestBytes = 0;
  /** Counted as the answer passes to the client (see countBytes). */
  responseBytes = 0;
  error: string | undefined;
  /** The backend that answered (the fallback's name when it did). */
  backend: string | undefined;
  backendModel: string | undefined;

  observe(ev: ChatEvent): void {
    switch (ev.type) {
      case 'text':
      case 'tool_start':
        this.ttftMs ??= this.elapsed();
        break;
      case 'start':
        if (ev.inputTokens !== undefined) this.inputTokens = ev.inputTokens;
        break;
      case 'usage':
        if (ev.inputTokens !== undefined) this.inputTokens = ev.inputTokens;
        if (ev.outputTokens !== undefined) this.outputTokens = ev.outputTokens;
        break;
      case 'error':
        this.error = ev.error.message;
        break;
      default:
        break;
    }
  }

  elapsed(): number {
    return Math.round((performance.now() - this.started) * 1000) / 1000;
  }
}

/** Passes a body through unchanged, counting its bytes into `stats.responseBytes`. */
export async function* countBytes(body: AsyncIterable<Uint8Array>, stats: CallStats): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    stats.responseBytes += chunk.byteLength;
    yield chunk;
  }
}
