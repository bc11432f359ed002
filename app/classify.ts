import { isSluiceError } from '../core/index.js';
import type { Classification, Classifier, SluiceError } from '../core/index.js';
import { detectLlmApi, shapeOf, shapeOfRequest } from '../privacy/index.js';
import type { PrivacyRouter } from '../privacy/index.js';
import { WITHOUT_REMEDY, canonicalPath } from '../rules/index.js';
import type { CompiledPolicy } from '../rules/index.js';

/**
 * The one classification of a request, made at ingress before any stage runs: the canonical
 * path (rules/' canonicalPath, the one function that defines it), then on LLM hosts which API
 * that canonical path is. A re-spelled path (`%63`, `//`, `/./`, `/x/../`) is therefore the same
 * call as its canonical form, and it is that same string the policy judges and the forwarder sends.
 */
export function createClassifier(deps: { policy(): CompiledPolicy; router: PrivacyRouter }): Classifier {
  return {
    hostClass: (dest) => deps.router.hostClass(dest),
    classify({ dest, method, rawPath, headers, upgrade }): Classification {
      const hostClass = deps.router.hostClass(dest);
      // %2F is kept where an endpoint of this host and port allows it, refused everywhere else.
      const allowEncodedSlash = deps.policy().decideConnect(dest, undefined, WITHOUT_REMEDY).endpoint?.allowEncodedSlash ?? false;
      let path = rawPath;
      let pathError: SluiceError | undefined;
      try {
        path = canonicalPath(rawPath, { allowEncodedSlash });
      } catch (err) {
        if (!isSluiceError(err)) throw err;
        pathError = err;
      }
      const failed = pathError ? { pathError } : {};
      if (hostClass === 'other') return { hostClass, path, ...failed, api: undefined, shape: undefined };
      const apiPath = pathError ? undefined : deps.router.apiPath(dest, path);
      const api = apiPath === undefined ? undefined : detectLlmApi(dest.host, method, apiPath, headers, upgrade === 'websocket');
      // On a mixed host (api.github.com) only the router's own paths are LLM requests; the rest is the network policy's.
      if (hostClass === 'mixed' && api === undefined) return { hostClass: 'other', path, ...failed, api: undefined, shape: undefined };
      return { hostClass: hostClass === 'mixed' ? 'provider' : hostClass, path, ...failed, api, shape: api ? shapeOf(api) : shapeOfRequest(dest.host, path, headers) };
    },
  };
}
