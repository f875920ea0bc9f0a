#!/usr/bin/env bash
# Installs the vault-mcp executor as the hardened systemd service vault-executor, from this repo.
# Idempotent: a re-run updates the code and the unit, keeps the env file, and restarts the service.
#
#   sudo executor/deploy/install.sh [--dry-run] [--skip-build]
#
#   --dry-run     print every step and command; change nothing (needs neither root nor systemd)
#   --skip-build  install the existing executor/dist/server.js instead of running the build
# Environment: NODE_BIN (node >= 22.13 the unit runs; default /usr/bin/node),
#              HEALTH_TIMEOUT (seconds to wait for /health; default 30),
#              POOL_URL (the Worker's URL: join its executor pool by heartbeat; written to the env
#              file), EXECUTOR_ID (its id there; default the hostname), EXECUTOR_PUBLIC_URL (where the
#              Worker reaches it; default http://HOST:PORT). executor/README.md, "Joining a pool".
set -euo pipefail

DRY=0
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    --skip-build) BUILD=0 ;;
    -h | --help)
      sed -n '2,13s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY="$REPO/executor/deploy"
NAME=vault-executor
UNIT="$NAME.service"
PREFIX=/opt/vault-executor
CONF=/etc/vault-executor
ENV_FILE="$CONF/executor.env"
STATE=/var/lib/vault-executor
UNIT_DEST="/etc/systemd/system/$UNIT"
NODE_BIN="${NODE_BIN:-/usr/bin/node}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-30}"
POOL_URL="${POOL_URL:-}"
EXECUTOR_ID="${EXECUTOR_ID:-}"
EXECUTOR_PUBLIC_URL="${EXECUTOR_PUBLIC_URL:-}"
# Oldest node that runs the bundle: node:sqlite without a flag (package.json engines).
NODE_MIN_MAJOR=22
NODE_MIN_MINOR=13

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
# A preflight problem: stops a real install; a dry run says it would stop there and goes on showing
# the steps, so one preview lists everything to fix.
refuse() {
  if ((DRY)); then
    note "would refuse: $*"
  else
    die "$*"
  fi
}
# Runs a command, or only prints it (shell-quoted) in a dry run.
run() {
  if ((DRY)); then
    printf '    $'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

step "preflight: root, systemd, node >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR at $NODE_BIN"
if ((DRY)); then
  note "dry run: nothing will be changed"
else
  ((EUID == 0)) || die "run as root (sudo $0), or try --dry-run"
  [[ -d /run/systemd/system ]] || die "systemd is not running as PID 1 here; nothing to install into"
fi
[[ "$NODE_BIN" == /* && "$NODE_BIN" != *'|'* ]] || refuse "NODE_BIN must be an absolute path, got '$NODE_BIN'"
case "$NODE_BIN" in
  /home/* | /root/* | /tmp/* | /run/user/*)
    refuse "NODE_BIN=$NODE_BIN is hidden from the service (ProtectHome/PrivateTmp); install node under /usr or /opt"
    ;;
esac
[[ -x "$NODE_BIN" ]] || refuse "no node at $NODE_BIN; install node $NODE_MIN_MAJOR (e.g. NodeSource) or set NODE_BIN"
# The pool's settings, as the executor's config checks them (executor/src/config.ts).
URL_RE='^https?://[^[:space:]/?#]+(/[^[:space:]]*)?$'
[[ -z "$POOL_URL" || "$POOL_URL" =~ $URL_RE ]] ||
  refuse "POOL_URL='$POOL_URL' is not the Worker's http(s) base URL (e.g. https://vault-mcp.example.workers.dev)"
[[ -z "$EXECUTOR_PUBLIC_URL" || "$EXECUTOR_PUBLIC_URL" =~ $URL_RE ]] ||
  refuse "EXECUTOR_PUBLIC_URL='$EXECUTOR_PUBLIC_URL' is not an http(s) URL"
[[ -z "$EXECUTOR_ID" || "$EXECUTOR_ID" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] ||
  refuse "EXECUTOR_ID='$EXECUTOR_ID' must be 1-63 of letters, digits, . _ - starting with a letter or digit"
# The agent sandbox starts every CLI through setpriv (util-linux) and cleans up with procps' kill.
for tool in setpriv kill useradd; do
  command -v "$tool" >/dev/null 2>&1 || refuse "$tool is missing (apt-get install util-linux procps passwd)"
done
if node_version="$("$NODE_BIN" -p 'process.versions.node' 2>/dev/null)"; then
  IFS=. read -r major minor _ <<<"$node_version"
  if ((major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))); then
    refuse "node $node_version at $NODE_BIN; the executor needs >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR (set NODE_BIN)"
  else
    note "node $node_version"
  fi
else
  refuse "$NODE_BIN does not run"
fi

step "create system user $NAME"
if getent group "$NAME" >/dev/null; then
  note "group $NAME exists"
else
  run groupadd --system "$NAME"
fi
if id -u "$NAME" >/dev/null 2>&1; then
  note "user $NAME exists"
else
  run useradd --system --gid "$NAME" --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
    --comment "vault-mcp executor" "$NAME"
fi

step "build the executor bundle"
if ((BUILD)); then
  [[ -x "$REPO/node_modules/.bin/esbuild" ]] ||
    die "no build tools in $REPO/node_modules: run 'npm ci' there first, or pass --skip-build with a prebuilt executor/dist/server.js"
  run npm --prefix "$REPO" run build -w executor
else
  note "--skip-build: using the existing executor/dist/server.js"
fi
if ((!DRY)); then
  [[ -s "$REPO/executor/dist/server.js" ]] || die "$REPO/executor/dist/server.js is missing"
fi

step "install to $PREFIX (root-owned, read-only for the service)"
run install -d -m 0755 "$PREFIX" "$PREFIX/dist" "$PREFIX/config"
run install -m 0644 "$REPO/executor/dist/server.js" "$PREFIX/dist/server.js"
run install -m 0644 "$REPO/executor/config/profiles.json" "$REPO/executor/config/prices.json" "$PREFIX/config/"
run install -m 0644 "$REPO/executor/README.md" "$PREFIX/README.md"

# 0711: the agent identities pass through to their worktree and home (each open to its slot's group
# only) but cannot list anything; repos/ and the job store stay the executor's alone, and so do the
# subscription logins (logins/<cli>: a sandboxed run gets a copy, see README "Subscription logins").
step "directories: $STATE (0711, $NAME), repos/ and logins/ (0700), worktrees/ and homes/ (0711), $CONF (0755, root)"
run install -d -m 0711 -o "$NAME" -g "$NAME" "$STATE" "$STATE/worktrees" "$STATE/homes"
run install -d -m 0700 -o "$NAME" -g "$NAME" "$STATE/repos" "$STATE/logins" "$STATE/logins/codex" "$STATE/logins/gemini"
run install -d -m 0755 -o root -g root "$CONF"

step "environment file $ENV_FILE (only if missing; random secrets)"
if [[ -f "$ENV_FILE" ]]; then
  note "$ENV_FILE exists: kept as it is"
elif ((DRY)); then
  note "would write $ENV_FILE (root, 0600) from executor.env.example with a new EXECUTOR_SECRET and CALLBACK_SECRET"
else
  secret() {
    if command -v openssl >/dev/null 2>&1; then openssl rand -hex 24; else od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; fi
  }
  # Written with umask 077 into a temp file and renamed, so the secrets are never world-readable
  # and a half-written file never takes the real name.
  (
    umask 077
    tmp="$(mktemp "$CONF/.executor.env.XXXXXX")"
    sed -e "s/^EXECUTOR_SECRET=.*/EXECUTOR_SECRET=$(secret)/" -e "s/^CALLBACK_SECRET=.*/CALLBACK_SECRET=$(secret)/" \
      "$DEPLOY/executor.env.example" >"$tmp"
    chown root:root "$tmp"
    chmod 0600 "$tmp"
    mv "$tmp" "$ENV_FILE"
  )
  note "wrote $ENV_FILE. Copy its EXECUTOR_SECRET and CALLBACK_SECRET into the Worker (wrangler secret put),"
  note "fill in the model keys and REPO_ALLOWLIST, then re-run this script or: systemctl restart $NAME"
fi

env_value() {
  local v=""
  [[ -r "$ENV_FILE" ]] && v="$(sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1)"
  printf '%s' "${v:-$2}"
}
# Sets KEY=value in the env file (replacing any earlier line of that key), keeping it root's, 0600.
set_env() {
  if ((DRY)); then
    note "would set $1=$2 in $ENV_FILE"
    return
  fi
  (
    umask 077
    tmp="$(mktemp "$CONF/.executor.env.XXXXXX")"
    { grep -v "^$1=" "$ENV_FILE" || true; } >"$tmp"
    printf '%s=%s\n' "$1" "$2" >>"$tmp"
    chown root:root "$tmp"
    chmod 0600 "$tmp"
    mv "$tmp" "$ENV_FILE"
  )
  note "set $1=$2 in $ENV_FILE"
}

# With POOL_URL the executor heartbeats to the Worker, which sends it jobs while its lease holds.
pool="${POOL_URL:-$(env_value POOL_URL "")}"
if [[ -z "$pool" ]]; then
  step "executor pool: none (no POOL_URL): the Worker reaches this executor alone, at its EXECUTOR_URL"
else
  step "executor pool: join $pool by heartbeat"
  [[ -n "$POOL_URL" ]] && set_env POOL_URL "$POOL_URL"
  [[ -n "$EXECUTOR_ID" ]] && set_env EXECUTOR_ID "$EXECUTOR_ID"
  [[ -n "$EXECUTOR_PUBLIC_URL" ]] && set_env EXECUTOR_PUBLIC_URL "$EXECUTOR_PUBLIC_URL"
  # The executor's own default (config.ts idFromHostname): the hostname, other characters as '-'.
  host_id="$(hostname | sed -e 's/[^A-Za-z0-9._-]/-/g' -e 's/^[^A-Za-z0-9]*//' | cut -c1-63)"
  id="${EXECUTOR_ID:-$(env_value EXECUTOR_ID "${host_id:-executor}")}"
  public="${EXECUTOR_PUBLIC_URL:-$(env_value EXECUTOR_PUBLIC_URL "")}"
  note "its id in the pool: $id${EXECUTOR_ID:+ (EXECUTOR_ID)}"
  if [[ -n "$public" ]]; then
    note "the Worker reaches it at $public"
  else
    note "the Worker reaches it at http://HOST:PORT from the env file: behind a TLS proxy or tunnel, set EXECUTOR_PUBLIC_URL"
  fi
  note "every executor of the pool needs the Worker's EXECUTOR_SECRET and CALLBACK_SECRET in $ENV_FILE;"
  note "after the start, 'vault executors' lists $id as active once its first heartbeat arrived"
fi

# One identity per concurrency slot (MAX_EXECUTORS), alone in its own group; the service user joins
# each group so it can read and clean what that slot's agent writes (executor/src/sandbox/).
slots="$(env_value MAX_EXECUTORS 2)"
prefix="$(env_value AGENT_USER_PREFIX vault-agent-)"
[[ "$slots" =~ ^[0-9]+$ ]] || die "MAX_EXECUTORS='$slots' in $ENV_FILE is not a number"
[[ "$prefix" =~ ^[a-z_][a-z0-9_-]*$ ]] || die "AGENT_USER_PREFIX='$prefix' in $ENV_FILE is not a user name prefix"
step "agent identities ${prefix}0…${prefix}$((slots - 1)) (system users, own group each; $NAME in each group)"
for ((i = 0; i < slots; i++)); do
  agent="$prefix$i"
  if id -u "$agent" >/dev/null 2>&1; then
    note "user $agent exists"
  else
    run useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --comment "vault-mcp agent slot" "$agent"
  fi
  run usermod --append --groups "$agent" "$NAME"
done

step "install the unit $UNIT_DEST, enable and (re)start it"
if [[ "$NODE_BIN" == /usr/bin/node ]]; then
  run install -m 0644 "$DEPLOY/$UNIT" "$UNIT_DEST"
elif ((DRY)); then
  note "would install $UNIT with ExecStart=$NODE_BIN …"
else
  tmp_unit="$(mktemp)"
  trap 'rm -f "$tmp_unit"' EXIT
  sed "s|^ExecStart=/usr/bin/node |ExecStart=$NODE_BIN |" "$DEPLOY/$UNIT" >"$tmp_unit"
  install -m 0644 "$tmp_unit" "$UNIT_DEST"
fi
run systemctl daemon-reload
run systemctl enable "$UNIT"
# restart, not `enable --now`: on a re-run the service is already up and would keep the old code.
# Running jobs get SHUTDOWN_GRACE_MS to finish first.
run systemctl restart "$UNIT"

port="$(env_value PORT 28788)"
host="$(env_value HOST 127.0.0.1)"
[[ "$host" == 0.0.0.0 || "$host" == "::" ]] && host=127.0.0.1
[[ "$port" =~ ^[0-9]+$ ]] || die "PORT='$port' in $ENV_FILE is not a port number"
[[ "$host" == *:* ]] && host="[$host]"
url="http://$host:$port/health"
step "health check $url (up to ${HEALTH_TIMEOUT}s)"
if ((DRY)); then
  note "would poll $url once a second, then fail with: journalctl -u $NAME -n 50 --no-pager"
  exit 0
fi
deadline=$((SECONDS + HEALTH_TIMEOUT))
while ((SECONDS < deadline)); do
  if "$NODE_BIN" -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url"; then
    note "healthy: $NAME answers on $url"
    exit 0
  fi
  sleep 1
done
{
  echo "install.sh: $NAME did not answer on $url within ${HEALTH_TIMEOUT}s."
  echo "  status: systemctl status $NAME --no-pager"
  echo "  logs:   journalctl -u $NAME -n 50 --no-pager"
} >&2
exit 1
