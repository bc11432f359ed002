#!/bin/bash
# Runs inside the sandbox. Each probe prints one line: "PROBE <name> <exit code> <the end of its output>"
# (2000 characters: enough for a whole refusal body, whose fix and guidance follow the error code).
# bypass.test.ts asserts on them; every probe is bounded by `timeout` so a hang shows as 124.
probe() {
  local name=$1; shift
  local out rc
  out=$(timeout 10 "$@" 2>&1); rc=$?
  printf 'PROBE %s %s %s\n' "$name" "$rc" "$(printf '%s' "$out" | tr '\n' ' ' | tail -c 2000)"
}
PY=python3
A=${ALLOWED_ORIGIN:-https://allowed.test}
# functions cannot be run by `timeout`: these are argv prefixes
NOPROXY=(env -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u http_proxy -u https_proxy -u all_proxy -u NODE_OPTIONS -u NODE_USE_ENV_PROXY)
TCP=($PY "$SLUICE_TEST_DIR/tcp-probe.py")

# --- allowed traffic, through the proxy, no code changes ---
probe curl_allowed curl -sS -f $A/curl
probe python_allowed $PY -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + "/python", timeout=8).read().decode())' "$A"
probe git_allowed git ls-remote $A/repo.git
probe node_fetch_allowed node -e 'fetch(process.argv[1] + "/node").then(r => r.text()).then(t => console.log(t), e => { console.log("ERR", e.cause ?? e); process.exit(3) })' "$A"
probe openai_allowed node "$SLUICE_TEST_DIR/openai-probe.mjs"
probe curl_denied curl -sS -f https://denied.test/
probe curl_denied_plain curl -sS http://denied.test/
probe metadata_via_proxy curl -sS http://169.254.169.254/latest/meta-data/

# control: the same probe does connect where the proxy variables point (port may be a relay's)
probe tcp_proxy_control "${TCP[@]}" "$HOST_IP" "${HTTPS_PROXY##*:}"

# --- bypass attempts: each must fail, and fail fast (a refusal, not a timeout) ---
probe tcp_proxy_host_other_port "${TCP[@]}" "$HOST_IP" "$OTHER_PORT"
probe tcp_host_address "${TCP[@]}" "$HOST_ADDR" "$OTHER_PORT"
probe tcp_loopback "${TCP[@]}" 127.0.0.1 "$OTHER_PORT"
probe tcp_other_namespace "${TCP[@]}" "$OTHERNS_IP" "$OTHERNS_PORT"
probe tcp_metadata "${TCP[@]}" 169.254.169.254 80
probe curl_metadata_direct curl -sS --noproxy '*' http://169.254.169.254/
probe tcp_ipv6 "${TCP[@]}" fd00:5155::1 80
probe tcp_ipv6_loopback_host "${TCP[@]}" ::ffff:$HOST_IP "$OTHER_PORT"
probe udp $PY -c '
import socket, sys
targets = [(sys.argv[1], int(sys.argv[3])), (sys.argv[2], int(sys.argv[3]))]
errors = []
for t in targets:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    try:
        s.connect(t); s.send(b"sluice-udp-bypass"); s.recv(100); print("ANSWERED"); sys.exit(0)
    except OSError as e:
        errors.append(type(e).__name__)
print("no-answer", errors); sys.exit(3)' "$HOST_IP" "$HOST_ADDR" "$UDP_PORT"
probe dns_system getent hosts allowed.test
probe dns_direct $PY -c '
import socket, sys
q = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
for server in (sys.argv[1], "127.0.0.53", sys.argv[2]):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    try:
        s.connect((server, 53)); s.send(q); s.recv(512); print("ANSWER from", server); sys.exit(0)
    except OSError as e:
        print(server, type(e).__name__, end="; ")
sys.exit(3)' "$HOST_IP" "$OTHERNS_IP"
# Docker's embedded resolver answers on 127.0.0.11 inside containers: it must not resolve outside names
probe dns_embedded $PY -c '
import socket, sys
q = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
try:
    s.connect(("127.0.0.11", 53)); s.send(q); r = s.recv(512)
except OSError as e:
    print("no resolver:", type(e).__name__); sys.exit(3)
ancount = int.from_bytes(r[6:8], "big")
print("rcode", r[3] & 15, "answers", ancount)
sys.exit(0 if ancount else 3)'
probe raw_icmp $PY -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'
probe raw_packet $PY -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)'
probe userns_nested $PY -c 'import ctypes, sys; sys.exit(0 if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0 else 3)'
probe noproxy_curl "${NOPROXY[@]}" curl -sS https://allowed.test/
probe noproxy_curl_resolve "${NOPROXY[@]}" curl -sS --resolve "allowed.test:443:$HOST_IP" https://allowed.test/
probe noproxy_python "${NOPROXY[@]}" $PY -c 'import urllib.request; urllib.request.urlopen("https://allowed.test/", timeout=8)'
probe noproxy_node "${NOPROXY[@]}" node -e 'fetch("https://allowed.test/").then(() => process.exit(0), e => { console.log(e.cause?.code ?? e.message); process.exit(3) })'
probe noproxy_node_direct_ip "${NOPROXY[@]}" node -e 'fetch(process.argv[1]).then(() => process.exit(0), e => { console.log(e.cause?.code ?? e.message); process.exit(3) })' "http://$HOST_IP:$OTHER_PORT/"
echo PROBES-DONE
