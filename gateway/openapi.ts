import { z } from 'zod';
import type { Route } from './route.js';

/**
 * The OpenAPI 3.1 document of the routes actually served, derived from the route table, so it
 * can describe only what exists. `x-sluice-scope` names the token scope each operation needs.
 */
export const OPENAPI_PATH = '/v1/openapi.json';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function operationId(route: Route): string {
  const words = route.path.replace(/^\/v1\//, '').split('/').map((p) => (p.startsWith('{') ? `by_${p.slice(1, -1)}` : p.replace(/[^A-Za-z0-9]/g, '_')));
  return [route.method.toLowerCase(), ...words].join('_');
}

export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(route.query ?? {}).map(([name, q]) => ({ name, in: 'query', required: false, description: q.description, schema: jsonSchema(q.schema, 'input') }));
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const type = spec.contentType ?? 'application/json';
      responses[status] = { description: spec.description, content: { [type]: spec.schema ? { schema: jsonSchema(spec.schema, 'output') } : {} } };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
      'x-sluice-scope': route.scope,
      security: route.scope === 'public' ? [] : [{ bearer: [] }, { unixSocket: [] }],
      ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
      ...(route.body
        ? {
            requestBody: {
              description: route.body.description,
              required: !route.body.optional,
              content: Object.fromEntries(route.body.contentTypes.map((t) => [t, route.body!.schema ? { schema: jsonSchema(route.body!.schema, 'input') } : {}])),
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice gateway control-plane API',
      version,
      description: 'Manages sandboxes and their policies. On the unix socket (<SLUICE_HOME>/gateway/api.sock, mode 0600) every caller is admin; on the TCP listener (TLS from the Sluice CA) every call needs a bearer token whose scope (read or admin) covers the operation.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: '`sluice token create --scope admin|read`' },
        unixSocket: { type: 'apiKey', in: 'header', name: 'x-unused', description: 'Not a header: the unix socket is authenticated by its file mode (owner only).' },
      },
    },
    paths,
  };
}

export function openApiRoute(routes: () => readonly Route[], version: string): Route {
  let cached: string | undefined;
  return {
    method: 'GET',
    path: OPENAPI_PATH,
    scope: 'public',
    tags: ['gateway'],
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1' } },
    handle: () => {
      cached ??= JSON.stringify(openApiDocument(routes(), version));
      return { status: 200, text: cached, contentType: 'application/json' };
    },
  };
}
