#!/usr/bin/env bash
# The base install serves: `pip install .` (no extras) into a fresh venv, then `recomind serve`
# on the embedded default must answer /healthz and a recommendations request.
# Run by `make test` (target base-install); VENV_DIR and PORT may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
work="$(mktemp -d /tmp/recomind-base.XXXXXX)"
venv="${VENV_DIR:-$work/venv}"
port="${PORT:-$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "base-install: pip install . (no extras) into $venv"
"$PYTHON" -m venv "$venv"
if ! { "$venv/bin/python" -m pip install --quiet --upgrade pip &&
       "$venv/bin/python" -m pip install --quiet .; } >"$work/pip.log" 2>&1; then
  cat "$work/pip.log" >&2
  echo "base-install: pip install . failed" >&2
  exit 1
fi
for extra in implicit sklearn threadpoolctl aiokafka duckdb; do
  if "$venv/bin/python" -c "import $extra" 2>/dev/null; then
    echo "base-install: $extra is importable in the base install; the check would prove nothing" >&2
    exit 1
  fi
done

cd "$work"
export RECOMIND_DATABASE_URL="sqlite:///$work/base.db" RECOMIND_EVENT_BUS_URL="sqlite:///$work/bus.db"
export RECOMIND_LAKE_URL="file://$work/lake" RECOMIND_MODEL_DIR="$work/models"
# Auth is on by default: a bootstrap master key for this check (every call but the probes).
export RECOMIND_MASTER_KEY="base-install-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
"$venv/bin/recomind" serve --port "$port" >"$work/serve.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
get() { "$venv/bin/python" - "$@" <<'PY'
import os, sys, httpx
method, url = sys.argv[1], sys.argv[2]
body = sys.argv[3] if len(sys.argv) > 3 else None
headers = {"content-type": "application/json"}
if os.environ.get("SEND_KEY", "1") == "1":
    headers["authorization"] = "Bearer " + os.environ["RECOMIND_MASTER_KEY"]
r = httpx.request(method, url, content=body, headers=headers, timeout=10)
print(r.status_code, r.text[:300])
sys.exit(0 if r.status_code < 300 else 1)
PY
}
for _ in $(seq 1 120); do
  if get GET "$base/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/serve.log"; echo "base-install: serve died" >&2; exit 1; fi
  sleep 0.5
done
fail() { echo "base-install: $1" >&2; tail -n 40 "$work/serve.log" >&2; exit 1; }
get GET "$base/healthz" || fail "/healthz did not answer 200"
if SEND_KEY=0 get GET "$base/trending" >/dev/null; then fail "GET /trending answered without a credential"; fi
get POST "$base/videos" '{"video_id":"v1","title":"Dog fails","url":"https://cdn.example/v1.mp4","tags":["funny"]}' || fail "POST /videos"
get POST "$base/videos" '{"video_id":"v2","title":"Cat jumps","url":"https://cdn.example/v2.mp4","tags":["funny"]}' || fail "POST /videos"
get POST "$base/video_action" '{"user_id":"u1","video_id":"v1","action_type":"like"}' || fail "POST /video_action"
get GET "$base/recommendations/u1" || fail "GET /recommendations/u1"
get GET "$base/trending" || fail "GET /trending"
if grep -q "Traceback" "$work/serve.log"; then fail "the server logged a traceback"; fi
# Training the default hybrid needs the ml extra: one clear line says so, no traceback.
if "$venv/bin/recomind" jobs run train >"$work/train.log" 2>&1; then
  fail "jobs run train succeeded without the ml extra (expected a clear error)"
fi
grep -q "needs the 'ml' extra: pip install 'recomind\[ml\]'" "$work/train.log" ||
  { cat "$work/train.log" >&2; fail "jobs run train did not name the ml extra"; }
if grep -q "Traceback" "$work/train.log"; then cat "$work/train.log" >&2; fail "train printed a traceback"; fi
get GET "$base/recommendations/u1" || fail "GET /recommendations/u1 after the failed train"
echo "base-install: ok (healthz, 401 without a key, catalogue, action, recommendations, trending; train names the ml extra)"
