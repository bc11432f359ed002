/**
 * Policy-semantics cases ported from NVIDIA OpenShell's own tests (Apache-2.0), one row per case
 * with a clear expected outcome, each citing the test it comes from. `expect` is OpenShell's
 * outcome; a row where Sluice deliberately differs says so in `sluice` and names the README row.
 *
 * Fixtures: 077 is OpenShell's testdata/sandbox-policy.yaml, 015 its opa.rs L7_TEST_DATA.
 */
export interface Identity {
  exe: string;
  ancestors?: string[];
}

export interface Case {
  from: string;
  /** A fixture under test/fixtures/openshell/accepted, or inline YAML. */
  policy: string;
  method: string;
  url: string;
  identity?: Identity;
  body?: unknown;
  headers?: Record<string, string>;
  expect: 'allow' | 'deny';
  /** Sluice's deliberate outcome where it differs, with the README table row that says why. */
  sluice?: { outcome: 'allow' | 'deny'; why: string };
}

const OPA = 'crates/openshell-supervisor-network/src/opa.rs';
const P = '077-sandbox-policy-1.yaml';
const L7 = '015-opa-2780.yaml';
const curl: Identity = { exe: '/usr/bin/curl' };
const gql = (query: string, extra: Record<string, unknown> = {}) => ({ query, ...extra });

export const CASES: Case[] = [
  // Binary identity and endpoints (opa.rs, TEST_DATA_YAML).
  { from: `${OPA} allowed_binary_and_endpoint`, policy: P, method: 'CONNECT', url: 'https://api.anthropic.com', identity: { exe: '/usr/bin/node' }, expect: 'allow' },
  { from: `${OPA} wrong_binary_denied`, policy: P, method: 'CONNECT', url: 'https://api.anthropic.com', identity: { exe: '/usr/bin/python3' }, expect: 'deny' },
  { from: `${OPA} wrong_endpoint_denied`, policy: P, method: 'CONNECT', url: 'https://evil.example.com', identity: { exe: '/usr/bin/node' }, expect: 'deny' },
  { from: `${OPA} unknown_binary_default_deny`, policy: P, method: 'CONNECT', url: 'https://api.anthropic.com', identity: { exe: '/tmp/malicious' }, expect: 'deny' },
  { from: `${OPA} github_policy_allows_git`, policy: P, method: 'CONNECT', url: 'https://github.com', identity: { exe: '/usr/bin/git' }, expect: 'allow' },
  { from: `${OPA} case_insensitive_host_matching`, policy: P, method: 'CONNECT', url: 'https://API.ANTHROPIC.COM', identity: { exe: '/usr/bin/node' }, expect: 'allow' },
  { from: `${OPA} wrong_port_denied`, policy: P, method: 'CONNECT', url: 'http://api.anthropic.com:80', identity: { exe: '/usr/bin/node' }, expect: 'deny' },
  { from: `${OPA} ancestor_binary_allowed`, policy: P, method: 'CONNECT', url: 'https://github.com', identity: { exe: '/usr/bin/python3', ancestors: ['/usr/bin/git'] }, expect: 'allow' },
  { from: `${OPA} no_ancestor_match_denied`, policy: P, method: 'CONNECT', url: 'https://github.com', identity: { exe: '/usr/bin/python3', ancestors: ['/usr/bin/bash'] }, expect: 'deny' },
  { from: `${OPA} deep_ancestor_chain_matches`, policy: P, method: 'CONNECT', url: 'https://github.com', identity: { exe: '/usr/bin/python3', ancestors: ['/usr/bin/sh', '/usr/bin/git'] }, expect: 'allow' },
  { from: `${OPA} empty_ancestors_falls_back_to_direct`, policy: P, method: 'CONNECT', url: 'https://api.anthropic.com', identity: { exe: '/usr/local/bin/claude' }, expect: 'allow' },
  { from: `${OPA} cmdline_path_does_not_grant_access`, policy: P, method: 'CONNECT', url: 'https://api.anthropic.com', identity: { exe: '/usr/bin/python3' }, expect: 'deny' },
  { from: `${OPA} glob_pattern_matches_binary`, policy: 'version: 1\nnetwork_policies:\n  g:\n    endpoints: [{ host: example.com, port: 443 }]\n    binaries: [{ path: "/usr/bin/*" }]\n', method: 'CONNECT', url: 'https://example.com', identity: { exe: '/usr/bin/node' }, expect: 'allow' },
  { from: `${OPA} glob_pattern_matches_ancestor`, policy: 'version: 1\nnetwork_policies:\n  g:\n    endpoints: [{ host: example.com, port: 443 }]\n    binaries: [{ path: "/usr/local/bin/*" }]\n', method: 'CONNECT', url: 'https://example.com', identity: { exe: '/usr/bin/node', ancestors: ['/usr/local/bin/claude'] }, expect: 'allow' },
  { from: `${OPA} glob_pattern_no_cross_segment`, policy: 'version: 1\nnetwork_policies:\n  g:\n    endpoints: [{ host: example.com, port: 443 }]\n    binaries: [{ path: "/usr/bin/*" }]\n', method: 'CONNECT', url: 'https://example.com', identity: { exe: '/usr/bin/subdir/node' }, expect: 'deny' },
  { from: `${OPA} copilot glob (sandbox-policy.yaml)`, policy: P, method: 'CONNECT', url: 'https://api.githubcopilot.com', identity: { exe: '/home/dev/.local/bin/copilot' }, expect: 'allow' },

  // L7 REST (opa.rs, L7_TEST_DATA).
  { from: `${OPA} l7_get_allowed_by_rules`, policy: L7, method: 'GET', url: 'http://api.example.com:8080/repos/myorg/foo', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_post_allowed_by_rules`, policy: L7, method: 'POST', url: 'http://api.example.com:8080/repos/myorg/issues', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_delete_denied_by_rules`, policy: L7, method: 'DELETE', url: 'http://api.example.com:8080/repos/myorg/foo', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_get_wrong_path_denied`, policy: L7, method: 'GET', url: 'http://api.example.com:8080/admin/settings', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_readonly_preset_allows_get`, policy: L7, method: 'GET', url: 'http://api.readonly.com:8080/anything', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_readonly_preset_allows_head`, policy: L7, method: 'HEAD', url: 'http://api.readonly.com:8080/anything', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_readonly_preset_allows_options`, policy: L7, method: 'OPTIONS', url: 'http://api.readonly.com:8080/anything', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_readonly_preset_denies_post`, policy: L7, method: 'POST', url: 'http://api.readonly.com:8080/anything', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_readonly_preset_denies_delete`, policy: L7, method: 'DELETE', url: 'http://api.readonly.com:8080/anything', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_full_preset_allows_everything`, policy: L7, method: 'DELETE', url: 'http://api.full.com:8080/anything/at/all', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_method_matching_case_insensitive`, policy: L7, method: 'get', url: 'http://api.example.com:8080/repos/myorg/foo', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_path_glob_matching`, policy: L7, method: 'POST', url: 'http://api.example.com:8080/repos/myorg/sub/issues', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_query_glob_allows_matching_duplicate_values`, policy: L7, method: 'GET', url: 'http://api.query.com:8080/download?tag=foo-a&tag=foo-b&extra=ignored', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_query_glob_denies_on_mismatched_duplicate_value`, policy: L7, method: 'GET', url: 'http://api.query.com:8080/download?tag=foo-a&tag=evil', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_query_any_allows_if_every_value_matches_any_pattern`, policy: L7, method: 'GET', url: 'http://api.query.com:8080/search?tag=foo-a&tag=bar-b', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_query_missing_required_key_denied`, policy: L7, method: 'GET', url: 'http://api.query.com:8080/download', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_head_allowed_where_get_is_allowed`, policy: L7, method: 'HEAD', url: 'http://api.example.com:8080/repos/myorg/foo', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_options_not_implicitly_allowed_by_get`, policy: L7, method: 'OPTIONS', url: 'http://api.example.com:8080/repos/myorg/foo', identity: curl, expect: 'deny' },
  { from: `${OPA} l7_wrong_binary_denied_even_with_matching_rules`, policy: L7, method: 'GET', url: 'http://api.example.com:8080/repos/myorg/foo', identity: { exe: '/usr/bin/wget' }, expect: 'deny' },
  { from: `${OPA} l7_no_request_on_l4_only_endpoint`, policy: L7, method: 'GET', url: 'https://l4only.example.com/anything', identity: curl, expect: 'allow' },
  { from: `${OPA} l7_github_git_transport_allows_clone_blocks_push (clone)`, policy: P, method: 'GET', url: 'https://github.com/org/repo.git/info/refs?service=git-upload-pack', identity: { exe: '/usr/bin/git' }, expect: 'allow' },
  { from: `${OPA} l7_github_git_transport_allows_clone_blocks_push (fetch)`, policy: P, method: 'POST', url: 'https://github.com/org/repo.git/git-upload-pack', identity: { exe: '/usr/bin/git' }, expect: 'allow' },
  { from: `${OPA} l7_github_git_transport_allows_clone_blocks_push (push)`, policy: P, method: 'POST', url: 'https://github.com/org/repo.git/git-receive-pack', identity: { exe: '/usr/bin/git' }, expect: 'deny' },

  // GraphQL (opa.rs, graphql_api / graphql_readonly of L7_TEST_DATA).
  { from: `${OPA} l7_graphql_query_allowed_by_field_rule`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('query Viewer { viewer { login } }'), expect: 'allow' },
  { from: `${OPA} l7_graphql_unlisted_field_denied`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('query { adminAuditLog { id } }'), expect: 'deny' },
  { from: `${OPA} l7_graphql_batch_denied_if_any_operation_unallowed`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: [gql('query { viewer { login } }'), gql('query { adminAuditLog { id } }')], expect: 'deny' },
  { from: `${OPA} l7_graphql_deny_rule_takes_precedence`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('mutation IssueDelete { deleteRepository(id: 1) { id } }'), expect: 'deny' },
  { from: `${OPA} l7_graphql mutation allowed by name glob`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('mutation IssueCreate { createIssue(title: "x") { id } }'), expect: 'allow' },
  { from: `${OPA} l7_graphql_registered_hash_only_query_allowed`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'abc123' } } }, expect: 'allow' },
  { from: `${OPA} l7_graphql_unregistered_hash_only_query_denied`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'unknown' } } }, expect: 'deny' },
  { from: `${OPA} l7_graphql_parse_error_denied`, policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('query { viewer '), expect: 'deny' },
  { from: `${OPA} l7_graphql_readonly_access_allows_query_and_denies_mutation (query)`, policy: L7, method: 'POST', url: 'https://gql.readonly.com/graphql', identity: curl, body: gql('{ viewer { login } }'), expect: 'allow' },
  { from: `${OPA} l7_graphql_readonly_access_allows_query_and_denies_mutation (mutation)`, policy: L7, method: 'POST', url: 'https://gql.readonly.com/graphql', identity: curl, body: gql('mutation { createIssue { id } }'), expect: 'deny' },
  { from: 'graphql.rs: GET queries are classified from the query string', policy: L7, method: 'GET', url: 'https://gql.readonly.com/graphql?query=%7Bviewer%7Blogin%7D%7D', identity: curl, expect: 'allow' },
  { from: 'graphql.rs: fragments on the root are followed', policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('query { ...F } fragment F on Query { adminAuditLog { id } }'), expect: 'deny' },
  { from: 'graphql.rs: aliases do not hide field names', policy: L7, method: 'POST', url: 'https://api.graphql.com/graphql', identity: curl, body: gql('query { viewer: adminAuditLog { id } }'), expect: 'deny' },

  // Endpoint path selectors (opa.rs l7_endpoint_path_scopes_rest_and_graphql_on_same_host).
  ...((): Case[] => {
    const policy = `version: 1
network_policies:
  github_api:
    endpoints:
      - host: api.github.com
        port: 443
        path: /graphql
        protocol: graphql
        enforcement: enforce
        rules:
          - allow: { operation_type: query, fields: [viewer] }
      - host: api.github.com
        port: 443
        path: "/repos/**"
        protocol: rest
        enforcement: enforce
        access: read-only
`;
    const from = `${OPA} l7_endpoint_path_scopes_rest_and_graphql_on_same_host`;
    return [
      { from, policy, method: 'GET', url: 'https://api.github.com/repos/org/repo', expect: 'allow' },
      { from, policy, method: 'POST', url: 'https://api.github.com/repos/org/repo', expect: 'deny' },
      { from, policy, method: 'POST', url: 'https://api.github.com/graphql', body: gql('{ viewer { login } }'), expect: 'allow' },
      { from, policy, method: 'POST', url: 'https://api.github.com/graphql', body: gql('mutation { deleteRepository { id } }'), expect: 'deny' },
      { from, policy, method: 'GET', url: 'https://api.github.com/users/x', expect: 'deny' },
    ];
  })(),

  // JSON-RPC and MCP (opa.rs l7_jsonrpc_* / l7_mcp_*).
  ...((): Case[] => {
    const policy = `version: 1
network_policies:
  rpc:
    endpoints:
      - host: jsonrpc.example.com
        port: 443
        path: /rpc
        protocol: json-rpc
        enforcement: enforce
        rules:
          - allow: { method: initialize }
          - allow: { method: reports.list }
        deny_rules:
          - method: reports.delete
  mcp:
    endpoints:
      - host: mcp.example.com
        port: 443
        path: /mcp
        protocol: mcp
        enforcement: enforce
        rules:
          - allow: { method: initialize }
          - allow: { method: notifications/initialized }
          - allow: { method: tools/call, tool: search_web }
          - allow: { method: tools/call, tool: { any: [create_issue, list_issues] } }
        deny_rules:
          - { method: tools/call, tool: send_email }
`;
    const call = (method: string, params?: unknown, id: number | undefined = 1) => ({ jsonrpc: '2.0', ...(id !== undefined ? { id } : {}), method, ...(params !== undefined ? { params } : {}) });
    const rpc = 'https://jsonrpc.example.com/rpc';
    const mcp = 'https://mcp.example.com/mcp';
    return [
      { from: `${OPA} l7_jsonrpc allowed method`, policy, method: 'POST', url: rpc, body: call('reports.list'), expect: 'allow' },
      { from: `${OPA} l7_jsonrpc_unlisted_method_is_denied`, policy, method: 'POST', url: rpc, body: call('reports.export'), expect: 'deny' },
      { from: `${OPA} l7_jsonrpc deny rule`, policy, method: 'POST', url: rpc, body: call('reports.delete'), expect: 'deny' },
      { from: `${OPA} l7_jsonrpc_request_params_do_not_affect_method_policy`, policy, method: 'POST', url: rpc, body: call('reports.list', { any: 'thing' }), expect: 'allow' },
      { from: `${OPA} l7_jsonrpc_method_globs_are_exact_literals_in_rego`, policy, method: 'POST', url: rpc, body: call('reports.list.extra'), expect: 'deny' },
      { from: 'jsonrpc.rs: one denied call denies the batch', policy, method: 'POST', url: rpc, body: [call('reports.list'), call('reports.delete', undefined, 2)], expect: 'deny' },
      { from: 'jsonrpc.rs: a batch of allowed calls passes', policy, method: 'POST', url: rpc, body: [call('initialize'), call('reports.list', undefined, 2)], expect: 'allow' },
      { from: `${OPA} l7_jsonrpc_response_post_is_denied_for_matching_endpoint`, policy, method: 'POST', url: rpc, body: { jsonrpc: '2.0', id: 1, result: {} }, expect: 'deny' },
      { from: `${OPA} l7_method_rules_require_post`, policy, method: 'GET', url: rpc, expect: 'deny' },
      { from: 'jsonrpc.rs rejects_requests_missing_jsonrpc_version', policy, method: 'POST', url: rpc, body: { id: 1, method: 'reports.list' }, expect: 'deny' },
      { from: `${OPA} l7_mcp_rules_filter_tools_call (allowed tool)`, policy, method: 'POST', url: mcp, body: call('tools/call', { name: 'search_web', arguments: {} }), expect: 'allow' },
      { from: `${OPA} l7_mcp_rules_filter_tools_call (any list)`, policy, method: 'POST', url: mcp, body: call('tools/call', { name: 'list_issues' }), expect: 'allow' },
      { from: `${OPA} l7_mcp_rules_filter_tools_call (other tool)`, policy, method: 'POST', url: mcp, body: call('tools/call', { name: 'delete_repo' }), expect: 'deny' },
      { from: 'policy-schema.mdx MCP deny rule', policy, method: 'POST', url: mcp, body: call('tools/call', { name: 'send_email' }), expect: 'deny' },
      { from: 'policy-schema.mdx MCP initialize', policy, method: 'POST', url: mcp, body: call('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } }), expect: 'allow' },
      { from: 'policy-schema.mdx MCP notifications/initialized', policy, method: 'POST', url: mcp, body: call('notifications/initialized', undefined, undefined), expect: 'allow' },
      { from: `${OPA} l7_mcp unlisted method`, policy, method: 'POST', url: mcp, body: call('tools/list'), expect: 'deny' },
      { from: `${OPA} l7_mcp_receive_stream_get_is_allowed_for_matching_endpoint`, policy, method: 'GET', url: mcp, headers: { accept: 'text/event-stream' }, expect: 'allow' },
      { from: `${OPA} l7_jsonrpc_receive_stream_get_is_denied_for_matching_endpoint`, policy, method: 'GET', url: rpc, headers: { accept: 'text/event-stream' }, expect: 'deny' },
      { from: `${OPA} l7_mcp_response_post_is_allowed_for_matching_endpoint`, policy, method: 'POST', url: mcp, body: { jsonrpc: '2.0', id: 7, result: { action: 'accept' } }, expect: 'allow' },
      { from: 'jsonrpc.rs mcp_mode_rejects_non_recommended_tool_names_by_default', policy, method: 'POST', url: mcp, body: call('tools/call', { name: 'search web!' }), expect: 'deny' },
    ];
  })(),
  ...((): Case[] => {
    const policy = `version: 1
network_policies:
  mcp:
    endpoints:
      - host: mcp.default.test
        port: 8000
        path: /mcp
        protocol: mcp
        mcp: { allow_all_known_mcp_methods: true }
        deny_rules:
          - { method: tools/call, tool: delete_* }
`;
    const from = `${OPA} l7_mcp_method_profile_allows_all_tools`;
    const call = (method: string, params?: unknown) => ({ jsonrpc: '2.0', id: 1, method, ...(params ? { params } : {}) });
    return [
      { from, policy, method: 'POST', url: 'http://mcp.default.test:8000/mcp', body: call('tools/list'), expect: 'allow' },
      { from, policy, method: 'POST', url: 'http://mcp.default.test:8000/mcp', body: call('tools/call', { name: 'any_tool' }), expect: 'allow' },
      { from: 'policy-schema.mdx: deny_rules apply under the method profile', policy, method: 'POST', url: 'http://mcp.default.test:8000/mcp', body: call('tools/call', { name: 'delete_all' }), expect: 'deny' },
    ];
  })(),

  // Deny rules (opa.rs l7_deny_rule_*).
  ...((): Case[] => {
    const policy = `version: 1
network_policies:
  github:
    endpoints:
      - host: api.github.com
        port: 443
        protocol: rest
        enforcement: enforce
        access: read-write
        deny_rules:
          - { method: POST, path: "/repos/*/pulls/*/reviews" }
          - { method: PUT, path: "/repos/*/branches/*/protection" }
          - { method: "*", path: "/repos/*/rulesets" }
          - { method: POST, path: "/search", query: { type: { any: ["secret*"] } } }
          - { method: GET, path: "/admin" }
`;
    const u = (p: string) => `https://api.github.com${p}`;
    return [
      { from: `${OPA} l7_deny_rule_blocks_allowed_method_path`, policy, method: 'POST', url: u('/repos/x/pulls/1/reviews'), expect: 'deny' },
      { from: `${OPA} l7_deny_rule_allows_non_matching_requests`, policy, method: 'POST', url: u('/repos/x/issues'), expect: 'allow' },
      { from: `${OPA} l7_deny_rule_allows_same_method_different_path`, policy, method: 'POST', url: u('/repos/x/pulls/1/comments'), expect: 'allow' },
      { from: `${OPA} l7_deny_rule_blocks_wildcard_method`, policy, method: 'GET', url: u('/repos/x/rulesets'), expect: 'deny' },
      { from: `${OPA} l7_deny_rule_blocks_put_protection`, policy, method: 'PUT', url: u('/repos/x/branches/main/protection'), expect: 'deny' },
      { from: `${OPA} l7_deny_rule_with_query_blocks_matching_params`, policy, method: 'POST', url: u('/search?type=secrets'), expect: 'deny' },
      { from: `${OPA} l7_deny_rule_with_query_allows_non_matching_params`, policy, method: 'POST', url: u('/search?type=code'), expect: 'allow' },
      { from: `${OPA} l7_deny_rule_with_query_blocks_when_any_value_matches`, policy, method: 'POST', url: u('/search?type=code&type=secret-scan'), expect: 'deny' },
      { from: `${OPA} l7_deny_rule_without_matching_query_key_allows`, policy, method: 'POST', url: u('/search'), expect: 'allow' },
      { from: `${OPA} l7_head_blocked_by_deny_rule_targeting_get`, policy, method: 'HEAD', url: u('/admin'), expect: 'deny' },
      { from: 'issue 16 item 4: a trailing slash does not sidestep a deny rule', policy, method: 'GET', url: u('/admin/'), expect: 'allow', sluice: { outcome: 'deny', why: 'deny rules hold under every reading' } },
      { from: 'issue 16 item 4: /. does not sidestep a deny rule', policy, method: 'GET', url: u('/admin/.'), expect: 'allow', sluice: { outcome: 'deny', why: 'deny rules hold under every reading' } },
      { from: 'issue 16 item 4: ;params do not sidestep a deny rule (OpenShell strips them too)', policy, method: 'GET', url: u('/admin;x'), expect: 'deny' },
      { from: 'issue 16 item 4: letter case does not sidestep a deny rule', policy, method: 'GET', url: u('/ADMIN'), expect: 'allow', sluice: { outcome: 'deny', why: 'deny rules hold under every reading' } },
    ];
  })(),

  // Wildcard hosts (opa.rs wildcard_host_*), allowed_ips (opa.rs allowed_ips_mode*), ports.
  ...((): Case[] => {
    const policy = `version: 1
network_policies:
  wild:
    endpoints:
      - { host: "*.example.com", port: 443 }
      - { host: "*-aiplatform.googleapis.com", port: 443 }
      - { host: "s3.*.amazonaws.com", port: 443 }
      - { host: "**.deep.example.org", ports: [443, 8443] }
  ips:
    endpoints:
      - { host: db.internal.example, port: 5432, allowed_ips: [10.0.5.0/24] }
      - { port: 9443, allowed_ips: [172.16.0.0/12, 192.168.1.1] }
`;
    const c = (url: string, expect: 'allow' | 'deny', test: string): Case => ({ from: `${OPA} ${test}`, policy, method: 'CONNECT', url, expect });
    return [
      c('https://api.example.com', 'allow', 'wildcard_host_matches_subdomain'),
      c('https://a.b.example.com', 'deny', 'wildcard_host_rejects_deep_subdomain'),
      c('https://example.com', 'deny', 'wildcard_host_rejects_exact_domain'),
      c('https://API.EXAMPLE.COM', 'allow', 'wildcard_host_case_insensitive'),
      c('http://api.example.com:80', 'deny', 'wildcard_host_plus_port'),
      c('https://us-central1-aiplatform.googleapis.com', 'allow', 'wildcard_host_intra_label_matches'),
      c('https://x.y-aiplatform.googleapis.com', 'deny', 'wildcard_host_intra_label_does_not_cross_dot'),
      c('https://s3.us-east-1.amazonaws.com', 'allow', 'wildcard_host_middle_label_matches_one_region_label'),
      c('https://s3.amazonaws.com', 'deny', 'wildcard_host_middle_label_does_not_match_missing_bucket_label'),
      c('https://s3.dualstack.us-east-1.amazonaws.com', 'deny', 'wildcard_host_middle_label_does_not_skip_dualstack_label'),
      c('https://a.b.deep.example.org:8443', 'allow', 'wildcard_host_multi_port'),
      c('https://deep.example.org', 'deny', '** needs one label'),
      c('https://db.internal.example:5432', 'allow', 'allowed_ips_mode2_host_plus_ips_allows'),
      c('https://anything.example.net:9443', 'allow', 'allowed_ips_mode3_hostless_allows_any_domain'),
      c('https://anything.example.net:9444', 'deny', 'allowed_ips_mode3_wrong_port_denied'),
    ];
  })(),
];
