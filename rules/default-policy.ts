/**
 * The policy `sluice up` runs with when no --policy is given. Small on purpose: package
 * registries and GitHub, read-only where that makes sense; LLM calls stay on this machine.
 * Everything else is denied. Copy it from here to start your own.
 */
export const DEFAULT_POLICY_YAML = `# Sluice embedded default policy.
# Every host not listed here is denied. Copy this file, edit it, and run
# \`sluice up --policy FILE\`; check it first with \`sluice policy check FILE\`.
version: 1

network_policies:
  npm:
    endpoints:
      # Read-only: installs work; \`npm publish\` and \`npm audit\` (a POST) are refused.
      # Use \`npm install --no-audit\` or set \`audit=false\` in .npmrc to skip the warning.
      - host: registry.npmjs.org
        port: 443
        protocol: rest
        access: read-only
        allow_encoded_slash: true   # scoped packages are fetched as /@scope%2fname

  pypi:
    endpoints:
      - { host: pypi.org, port: 443, protocol: rest, access: read-only }
      - { host: files.pythonhosted.org, port: 443, protocol: rest, access: read-only }

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

  crates:
    endpoints:
      - { host: crates.io, port: 443, protocol: rest, access: read-only }
      - { host: index.crates.io, port: 443, protocol: rest, access: read-only }   # sparse index
      - { host: static.crates.io, port: 443, protocol: rest, access: read-only }

  go:
    endpoints:
      - { host: proxy.golang.org, port: 443, protocol: rest, access: read-only }
      - { host: sum.golang.org, port: 443, protocol: rest, access: read-only }    # checksum database

  debian:
    endpoints:
      # apt uses plain http by default; both ports are read-only.
      - { host: deb.debian.org, ports: [80, 443], protocol: rest, access: read-only }

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
