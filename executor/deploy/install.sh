#!/usr/bin/env bash
# Installs the vault-mcp executor as a hardened systemd service. Idempotent; run as root from the
# repo. --dry-run prints every step without changing anything.
set -euo pipefail

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX=/opt/vault-executor
CONF=/etc/vault-executor
STATE=/var/lib/vault-executor
USER_NAME=vault-executor
PORT="${PORT:-28788}"

step() { printf '==> %s\n' "$*"; }
run() { if ((DRY)); then printf '    %s\n' "$*"; else "$@"; fi; }

step "check node >= 22.18"
if ((!DRY)); then
  major_minor=$(node -p 'process.versions.node.split(".").slice(0,2).join(".")')
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)' ||
    { echo "node $major_minor found; the executor needs node >= 22.18 at /usr/bin/node" >&2; exit 1; }
fi

step "create system user $USER_NAME"
if ! id -u "$USER_NAME" >/dev/null 2>&1; then run useradd --system --home-dir "$STATE" --shell /usr/sbin/nologin "$USER_NAME"; fi

step "build the executor bundle"
run npm --prefix "$REPO" run build -w executor

step "install to $PREFIX"
run install -d -m 0755 "$PREFIX" "$PREFIX/dist" "$PREFIX/config"
run install -m 0644 "$REPO/executor/dist/server.js" "$PREFIX/dist/server.js"
run install -m 0644 "$REPO/executor/config/profiles.json" "$REPO/executor/config/prices.json" "$PREFIX/config/"
run install -m 0644 "$REPO/executor/README.md" "$PREFIX/README.md"

step "directories: $STATE (0700, $USER_NAME), $CONF (0755, root)"
run install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$STATE" "$STATE/repos"
run install -d -m 0755 "$CONF"

step "environment file $CONF/executor.env (only if missing; random secrets)"
if [[ ! -f "$CONF/executor.env" ]]; then
  secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
  if ((DRY)); then
    printf '    write %s with new EXECUTOR_SECRET and CALLBACK_SECRET (mode 0600)\n' "$CONF/executor.env"
  else
    umask 077
    sed -e "s/^EXECUTOR_SECRET=.*/EXECUTOR_SECRET=$(secret)/" -e "s/^CALLBACK_SECRET=.*/CALLBACK_SECRET=$(secret)/" \
      "$REPO/executor/deploy/executor.env.example" >"$CONF/executor.env"
    chmod 0600 "$CONF/executor.env"
    echo "    wrote $CONF/executor.env: copy EXECUTOR_SECRET and CALLBACK_SECRET into the Worker (wrangler secret put)"
  fi
fi

step "install and start the unit"
run install -m 0644 "$REPO/executor/deploy/vault-executor.service" /etc/systemd/system/vault-executor.service
run systemctl daemon-reload
run systemctl enable --now vault-executor.service

step "health check http://127.0.0.1:$PORT/health"
if ((!DRY)); then
  for _ in $(seq 1 30); do
    if curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then echo "    healthy"; exit 0; fi
    sleep 1
  done
  echo "the executor did not answer on :$PORT within 30 s; see: journalctl -u vault-executor -n 50" >&2
  exit 1
else
  printf '    curl -fsS http://127.0.0.1:%s/health (30 tries)\n' "$PORT"
fi
