import type { IncomingHttpHeaders } from 'node:http';
import type { Destination } from './destination.js';
import type { SluiceError } from './errors.js';

/**
 * What a request is, decided once at ingress and read by every stage, the audit log and
 * `sluice explain`.
 *
 * `LlmApi` is the one list of LLM API operations Sluice recognises; the router (privacy/) and
 * the redaction (redact/) both key exhaustive tables on it, so an API added here without its
 * path, its translation or its redaction does not compile. To add one:
 *   1. add it to `LlmApi` (and its wire shape to `LlmShape` if the shape is new);
 *   2. privacy/apis.ts: its method and paths, its kind (chat, embeddings …) and shape;
 *   3. redact/llm-request.ts: which of its strings are redacted (WALKERS) and what seeds its
 *      conversation (SEEDS);
 *   4. privacy/translate/: its codec, when its shape is new.
 */
export type LlmApi =
  | 'openai-chat'
  | 'openai-completions'
  | 'openai-embeddings'
  | 'openai-models'
  | 'openai-responses'
  | 'openai-responses-socket'
  | 'openai-responses-input-tokens'
  | 'anthropic-messages'
  | 'anthropic-count-tokens'
  | 'anthropic-models'
  | 'ollama-chat'
  | 'ollama-generate'
  | 'ollama-embed'
  | 'ollama-tags'
  | 'gemini-generate'
  | 'gemini-stream'
  | 'gemini-count-tokens'
  | 'gemini-models'
  | 'copilot-models'
  | 'copilot-user'
  | 'copilot-token';

/** The wire shape an API (and its errors) speaks. */
export type LlmShape = 'openai' | 'anthropic' | 'ollama' | 'responses' | 'gemini';

/**
 * `provider`: a host whose requests are LLM calls (api.openai.com, api.anthropic.com,
 * *.githubcopilot.com, every `inference.hosts` entry, the host of every backend and every host a
 * route names); what the router does not recognise there is refused unless a route or an exact L7
 * rule lets it out. `virtual`: inference.local, answered by the router alone. `other`: the
 * network policy decides. `mixed`: a host where only some paths belong to an LLM provider
 * (api.github.com, whose /copilot_internal/ session endpoints tell Copilot clients where their
 * model is): reachable and intercepted on port 443 as a provider host is, and each request
 * classified `provider` or `other` by its path, so the rest of the host stays the network
 * policy's. A request's classification is never `mixed`.
 */
export type HostClass = 'provider' | 'virtual' | 'other' | 'mixed';

export interface Classification {
  readonly hostClass: HostClass;
  /**
   * The canonical path (no query): what the policy judges and the forwarder sends. When the path
   * as sent cannot be read safely it is kept as sent and `pathError` says why; nothing is forwarded.
   */
  readonly path: string;
  readonly pathError?: SluiceError;
  /** The LLM call this request is; undefined when it is none (on an LLM host: an unrecognised request). */
  readonly api: LlmApi | undefined;
  /** On LLM hosts, whose error shape a refusal takes (the API's, else the host's provider's). */
  readonly shape: LlmShape | undefined;
  /** Whether the answer streams; known once the body has been read (undefined before, and for non-calls). */
  stream?: boolean;
}

/** A request as it arrived: the path as sent (origin form, no query). */
export interface RequestHead {
  readonly dest: Destination;
  readonly method: string;
  readonly rawPath: string;
  readonly headers: IncomingHttpHeaders;
  /** A WebSocket upgrade (its Upgrade header is hop-by-hop, so not among `headers`). */
  readonly upgrade?: 'websocket';
}

/**
 * Built by the composition root (app/) from the policy and the router's configuration, called
 * by the wire (proxy/) once per CONNECT and once per request, before any stage runs.
 */
export interface Classifier {
  hostClass(dest: Destination): HostClass;
  classify(head: RequestHead): Classification;
}
