/** Server-sent events as the gateway writes them (GET /v1/events): each block's `event:` and joined `data:` lines. */
export async function readServerSentEvents(stream: AsyncIterable<Buffer>, onEvent: (block: string, data: string) => void): Promise<void> {
  let buffer = '';
  for await (const chunk of stream) {
    buffer += chunk.toString('utf8');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (data) onEvent(block, data);
    }
  }
}
