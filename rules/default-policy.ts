/**
 * The policy `sluice up` runs with when no --policy is given. Small on purpose: GitHub,
 * read-only where that makes sense; LLM calls stay on this machine. Everything else is denied,
 * package registries included: which ones an agent needs is learnt from a run
 * (`--enforcement audit`, then `sluice policy suggest`), not guessed here. Copy it from here to
 * start your own.
 */
export const DEFAULT_POLICY_YAML = `# Sluice embedded default policy.
# Every host not listed here is denied. Copy this file, edit it, and run
# \`sluice up --policy FILE\`; check it first with \`sluice policy check FILE\`.
# Package registries are not open: run your agent once with \`sluice run
# --enforcement audit --policy FILE -- CMD\`, then \`sluice policy suggest --apply\`
# adds what it used.
version: 1

network_policies:
  github:
    endpoints:
      # git clone/fetch over HTTPS: GET /info/refs, then POST .../git-upload-pack.
      # Push (git-receive-pack) is not allowed.
      - host: github.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: GET, path: "/**" }
          - allow: { method: POST, path: "/*/*/git-upload-pack" }
      - { host: api.github.com, port: 443, protocol: rest, access: read-only }
      - { host: codeload.github.com, port: 443, protocol: rest, access: read-only }
      - { host: objects.githubusercontent.com, port: 443, protocol: rest, access: read-only }

# api.openai.com, api.anthropic.com and inference.local need no entry here: the privacy router
# owns them. Recognised LLM calls are answered by a local Ollama; anything else sent to those
# hosts (batches, files, telemetry, a path it does not recognise) is refused. Nothing leaves
# the machine. To let an agent talk to its hosted provider, put a route before the one below:
#   - { match: { host: api.anthropic.com }, action: allow }
inference:
  backends:
    local: { type: ollama, url: "http://127.0.0.1:11434" }
  routes:
    - { match: { model: "*" }, backend: local }
`;
