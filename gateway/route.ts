import type http from 'node:http';
import type { z } from 'zod';
import type { Endpoint } from '../core/index.js';

/**
 * The control-plane API is a table of routes: method, path template, the scope a caller needs,
 * what it takes and answers (zod schemas, from which the OpenAPI document is derived) and a
 * handler. Features add routes to the table (the gateway's own in routes.ts; others, such as
 * /metrics or a dashboard, through the gateway's `routes` option); nothing else dispatches.
 */
export type Scope = 'public' | 'read' | 'admin';
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Who is calling: the unix socket's owner, or a bearer token (by id and name, never its value). */
export interface Caller {
  actor: string;
  scope: 'admin' | 'read' | 'none';
  src?: Endpoint;
}

export interface ApiRequest {
  readonly method: Method;
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly caller: Caller;
  /** Aborted when the client goes away (long polls, streams). */
  readonly signal: AbortSignal;
  /** The request body, capped (413 past the cap). */
  body(): Promise<Buffer>;
  /** The body parsed as JSON and checked against the route's body schema (400 with every problem). */
  json<T>(schema: z.ZodType<T>): Promise<T>;
  /** The raw request, for handlers that stream a body (stdin). */
  readonly raw: http.IncomingMessage;
}

export type ApiReply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string; headers?: Record<string, string> }
  /** The handler writes the response itself (event streams, logs); it must end it. */
  | { stream(res: http.ServerResponse): Promise<void> };

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface QuerySpec {
  description: string;
  schema: z.ZodType;
}

export interface Route {
  method: Method;
  /** `/v1/sandboxes/{name}`: `{param}` matches one path segment. */
  path: string;
  scope: Scope;
  summary: string;
  description?: string;
  tags?: string[];
  query?: Record<string, QuerySpec>;
  body?: { description: string; contentTypes: string[]; schema?: z.ZodType; optional?: boolean };
  responses: Record<number, ResponseSpec>;
  handle(req: ApiRequest): Promise<ApiReply> | ApiReply;
}
