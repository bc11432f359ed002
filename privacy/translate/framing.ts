import { StringDecoder } from 'node:string_decoder';

/**
 * Byte-stream framers for SSE and NDJSON. Chunks may split anywhere, even inside a UTF-8
 * sequence or between `\r` and `\n`; a frame is handed on as soon as its terminator arrives,
 * so nothing waits for more than the frame it is in.
 */
export interface SseFrame {
  event: string | undefined;
  data: string;
}

export interface SseParser {
  push(chunk: Uint8Array, onFrame: (frame: SseFrame) => void): void;
  /** Dispatches a final frame whose blank line never came. */
  end(onFrame: (frame: SseFrame) => void): void;
}

export function createSseParser(): SseParser {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let event: string | undefined;
  let data: string | undefined;

  const line = (text: string, onFrame: (frame: SseFrame) => void): void => {
    if (text.length === 0) {
      if (data !== undefined) onFrame({ event, data });
      event = undefined;
      data = undefined;
      return;
    }
    if (text.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') event = value;
  };

  const drain = (onFrame: (frame: SseFrame) => void): void => {
    let start = 0;
    for (;;) {
      const nl = pending.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      line(pending.slice(start, end), onFrame);
      start = nl + 1;
    }
    pending = start === 0 ? pending : pending.slice(start);
  };

  return {
    push(chunk, onFrame) {
      pending += decoder.write(chunk as Buffer);
      drain(onFrame);
    },
    end(onFrame) {
      pending += decoder.end();
      if (pending.length > 0) {
        pending += '\n';
        drain(onFrame);
      }
      line('', onFrame);
    },
  };
}

export interface LineParser {
  push(chunk: Uint8Array, onLine: (line: string) => void): void;
  end(onLine: (line: string) => void): void;
}

export function createLineParser(): LineParser {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const drain = (onLine: (line: string) => void): void => {
    let start = 0;
    for (;;) {
      const nl = pending.indexOf('\n', start);
      if (nl < 0) break;
      const text = pending.slice(start, nl).trim();
      if (text.length > 0) onLine(text);
      start = nl + 1;
    }
    pending = start === 0 ? pending : pending.slice(start);
  };
  return {
    push(chunk, onLine) {
      pending += decoder.write(chunk as Buffer);
      drain(onLine);
    },
    end(onLine) {
      pending += decoder.end();
      const text = pending.trim();
      pending = '';
      if (text.length > 0) onLine(text);
    },
  };
}

export function sseFrame(event: string | undefined, data: unknown): string {
  const json = typeof data === 'string' ? data : JSON.stringify(data);
  return event === undefined ? `data: ${json}\n\n` : `event: ${event}\ndata: ${json}\n\n`;
}
