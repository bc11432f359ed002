const MAX_LOGGED_PROMPT = 8 * 1024;
const TEXT_KEYS = new Set(['content', 'text', 'system', 'prompt', 'input']);

/** For `inference.log_prompts`: the prose of a (redacted) request body (message contents, system prompts, prompts), at most 8 KiB. */
export function promptText(body: unknown): string {
  const parts: string[] = [];
  let size = 0;
  const stack: Array<[unknown, boolean]> = [[body, false]];
  while (stack.length && size < MAX_LOGGED_PROMPT) {
    const [value, wanted] = stack.pop()!;
    if (typeof value === 'string') {
      if (wanted) {
        parts.push(value);
        size += value.length;
      }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], wanted]);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], wanted || TEXT_KEYS.has(entries[i]![0])]);
    }
  }
  return parts.join('\n').slice(0, MAX_LOGGED_PROMPT);
}
