#!/usr/bin/env bash
# Installs the real third-party signal clients that the alert/change ingestion tests drive
# against Firebreak, each only when it is missing:
#   - Prometheus Alertmanager (Debian's prometheus-alertmanager) as the webhook sender;
#   - PagerDuty's official Python client (PyPI `pagerduty`) in a venv at .ci/work/pyenv, and
#     in the same venv the Standard Webhooks reference library (PyPI `standardwebhooks`), which
#     verifies the signatures of Firebreak's outbound webhooks;
#   - Chromium (Debian's `chromium`), which renders the public status page headless;
#   - @octokit/webhooks-examples (GitHub's payload examples) and @octokit/webhooks-methods
#     (the signature `sign`/`verify`) in .ci/work/octokit;
#   - nginx (Debian's nginx-light) as the load balancer in front of several replicas, and
#     PgBouncer (Debian's pgbouncer, 1.18) as the transaction pooler; the tests start their
#     own on loopback ports, never the packaged services.
# .ci/work is git-ignored. Nothing but Debian's, PyPI's and npm's packages is downloaded.
#
#   source .ci/signal-clients.sh   # exports the variables below into the caller
#   bash .ci/signal-clients.sh     # only installs and prints them
#
# Exports:
#   ALERTMANAGER_BIN   the alertmanager binary (Debian names it prometheus-alertmanager)
#   PAGERDUTY_PYTHON   the venv's python, which can `import pagerduty` and `standardwebhooks`
#   CHROMIUM_BIN       the chromium binary
#   OCTOKIT_EXAMPLES   the examples JSON file of @octokit/webhooks-examples
#   OCTOKIT_METHODS    the installed @octokit/webhooks-methods package folder
#   NGINX_BIN          the nginx binary
#   PGBOUNCER_BIN      the pgbouncer binary
#
# When sourced it leaves the caller's working directory alone and uses `return`, not `exit`;
# like .ci/run it runs under `set -euo pipefail`, which a sourcing shell then keeps.
set -euo pipefail

# Versions: the ones current when this was written. A different installed version is replaced.
SIGNAL_PAGERDUTY_VERSION=7.2.0
SIGNAL_STANDARDWEBHOOKS_VERSION=1.1.0
SIGNAL_OCTOKIT_EXAMPLES_VERSION=7.6.1
SIGNAL_OCTOKIT_METHODS_VERSION=6.0.0

signal_clients_main() {
  local ci_dir work
  ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  work="$ci_dir/work"
  mkdir -p "$work"

  # --- Alertmanager -------------------------------------------------------------------------
  local am=""
  am=$(command -v alertmanager || command -v prometheus-alertmanager || true)
  if [[ -n "$am" ]]; then
    echo "signal-clients: alertmanager already installed ($am)"
  else
    echo "signal-clients: installing prometheus-alertmanager"
    # The package's postinst starts its service (port 9093) unless policy-rc.d says no; say no
    # for this install when the machine has no policy of its own.
    local own_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 0755 /usr/sbin/policy-rc.d
      own_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      prometheus-alertmanager || rc=$?
    if [[ $rc -ne 0 ]]; then
      echo "signal-clients: apt-get install failed ($rc); apt-get update and retry"
      rc=0
      DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
      [[ $rc -eq 0 ]] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends prometheus-alertmanager || rc=$?; }
    fi
    [[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d
    [[ $rc -eq 0 ]] || { echo "signal-clients: cannot install prometheus-alertmanager" >&2; return 1; }
    am=$(command -v alertmanager || command -v prometheus-alertmanager || true)
    [[ -n "$am" ]] || { echo "signal-clients: no alertmanager binary after install" >&2; return 1; }
    signal_clients_stop_packaged_service
  fi

  # --- PagerDuty's Python client ------------------------------------------------------------
  local venv="$work/pyenv" py="$work/pyenv/bin/python"
  if [[ -x "$py" ]] && "$py" -c "import importlib.metadata as m, pagerduty, sys
sys.exit(m.version('pagerduty') != '$SIGNAL_PAGERDUTY_VERSION')" 2>/dev/null; then
    echo "signal-clients: pagerduty $SIGNAL_PAGERDUTY_VERSION already in $venv"
  else
    echo "signal-clients: installing pagerduty $SIGNAL_PAGERDUTY_VERSION into $venv"
    [[ -x "$py" ]] || python3 -m venv "$venv"
    "$py" -m pip install -q --disable-pip-version-check "pagerduty==$SIGNAL_PAGERDUTY_VERSION"
    "$py" -c 'import pagerduty' || { echo "signal-clients: pagerduty not importable" >&2; return 1; }
  fi
  if "$py" -c "import importlib.metadata as m, standardwebhooks, sys
sys.exit(m.version('standardwebhooks') != '$SIGNAL_STANDARDWEBHOOKS_VERSION')" 2>/dev/null; then
    echo "signal-clients: standardwebhooks $SIGNAL_STANDARDWEBHOOKS_VERSION already in $venv"
  else
    echo "signal-clients: installing standardwebhooks $SIGNAL_STANDARDWEBHOOKS_VERSION into $venv"
    "$py" -m pip install -q --disable-pip-version-check "standardwebhooks==$SIGNAL_STANDARDWEBHOOKS_VERSION"
    "$py" -c 'import standardwebhooks' || { echo "signal-clients: standardwebhooks not importable" >&2; return 1; }
  fi

  # --- Chromium -------------------------------------------------------------------------------
  local chromium=""
  chromium=$(command -v chromium || true)
  if [[ -n "$chromium" ]]; then
    echo "signal-clients: chromium already installed ($chromium)"
  else
    echo "signal-clients: installing chromium"
    local crc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium || crc=$?
    if [[ $crc -ne 0 ]]; then
      crc=0
      DEBIAN_FRONTEND=noninteractive apt-get update -q || crc=$?
      [[ $crc -eq 0 ]] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends chromium || crc=$?; }
    fi
    [[ $crc -eq 0 ]] || { echo "signal-clients: cannot install chromium" >&2; return 1; }
    chromium=$(command -v chromium || true)
    [[ -n "$chromium" ]] || { echo "signal-clients: no chromium binary after install" >&2; return 1; }
  fi

  # --- Octokit webhook examples and methods -------------------------------------------------
  local prefix="$work/octokit"
  local modules="$prefix/node_modules/@octokit"
  if [[ "$(signal_clients_pkg_version "$modules/webhooks-examples")" == "$SIGNAL_OCTOKIT_EXAMPLES_VERSION" \
     && "$(signal_clients_pkg_version "$modules/webhooks-methods")" == "$SIGNAL_OCTOKIT_METHODS_VERSION" ]]; then
    echo "signal-clients: octokit packages already in $prefix"
  else
    echo "signal-clients: installing octokit packages into $prefix"
    mkdir -p "$prefix"
    # Its own package.json, so npm does not walk up to another project.
    [[ -f "$prefix/package.json" ]] || echo '{"name":"firebreak-ci-octokit","private":true}' >"$prefix/package.json"
    npm install --prefix "$prefix" --no-audit --no-fund --ignore-scripts --loglevel=error \
      "@octokit/webhooks-examples@$SIGNAL_OCTOKIT_EXAMPLES_VERSION" \
      "@octokit/webhooks-methods@$SIGNAL_OCTOKIT_METHODS_VERSION"
  fi
  local examples="$modules/webhooks-examples/api.github.com/index.json"
  [[ -f "$examples" ]] || { echo "signal-clients: no examples file at $examples" >&2; return 1; }
  [[ -f "$modules/webhooks-methods/package.json" ]] || { echo "signal-clients: no webhooks-methods" >&2; return 1; }

  # --- nginx and PgBouncer ---------------------------------------------------------------------
  local nginx="" pgbouncer=""
  nginx=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
  pgbouncer=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null || true)
  if [[ -n "$nginx" && -n "$pgbouncer" ]]; then
    echo "signal-clients: nginx and pgbouncer already installed"
  else
    echo "signal-clients: installing nginx-light and pgbouncer"
    signal_clients_apt_install nginx-light pgbouncer || return 1
    nginx=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
    pgbouncer=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null || true)
    [[ -n "$nginx" && -n "$pgbouncer" ]] || { echo "signal-clients: no nginx or pgbouncer after install" >&2; return 1; }
  fi
  signal_clients_stop_service nginx
  signal_clients_stop_service pgbouncer

  export ALERTMANAGER_BIN="$am"
  export PAGERDUTY_PYTHON="$py"
  export CHROMIUM_BIN="$chromium"
  export OCTOKIT_EXAMPLES="$examples"
  export OCTOKIT_METHODS="$modules/webhooks-methods"
  echo "ALERTMANAGER_BIN=$ALERTMANAGER_BIN ($("$am" --version 2>&1 | head -n 1))"
  echo "PAGERDUTY_PYTHON=$PAGERDUTY_PYTHON"
  echo "CHROMIUM_BIN=$CHROMIUM_BIN ($("$chromium" --version 2>/dev/null | head -n 1))"
  echo "OCTOKIT_EXAMPLES=$OCTOKIT_EXAMPLES"
  echo "OCTOKIT_METHODS=$OCTOKIT_METHODS"
  export NGINX_BIN="$nginx"
  export PGBOUNCER_BIN="$pgbouncer"
  echo "NGINX_BIN=$NGINX_BIN ($("$nginx" -v 2>&1 | head -n 1))"
  echo "PGBOUNCER_BIN=$PGBOUNCER_BIN ($("$pgbouncer" --version 2>&1 | head -n 1))"
}

# Installs Debian packages without starting their services (policy-rc.d says no for the
# install when the machine has no policy of its own); retries once after `apt-get update`.
signal_clients_apt_install() {
  local own_policy="" rc=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "signal-clients: apt-get install failed ($rc); apt-get update and retry"
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    [[ $rc -eq 0 ]] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "$@" || rc=$?; }
  fi
  [[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d
  [[ $rc -eq 0 ]] || { echo "signal-clients: cannot install $*" >&2; return 1; }
}

# Makes sure a packaged service is neither running nor enabled: the tests start their own.
signal_clients_stop_service() {
  local svc=$1
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif [[ -x "/etc/init.d/$svc" ]]; then
    "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    update-rc.d "$svc" disable >/dev/null 2>&1 || true
  fi
}

# The "version" of a package folder's package.json, or nothing.
signal_clients_pkg_version() {
  [[ -f "$1/package.json" ]] || return 0
  node -p "require('$1/package.json').version" 2>/dev/null || true
}

# Makes sure the Debian package left no alertmanager service running or enabled: the tests
# start their own on loopback ports of their choosing.
signal_clients_stop_packaged_service() {
  local svc=prometheus-alertmanager
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    if [[ -x "/etc/init.d/$svc" ]]; then
      "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
    # Whatever the init script missed: a daemon of the package's own (run as its `prometheus`
    # user from the package's binary), found by its executable, not by a name pattern.
    local exe pid
    exe=$(readlink -f "$(command -v prometheus-alertmanager || command -v alertmanager)")
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
      [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]] || continue
      [[ "$(stat -c %U "/proc/$pid" 2>/dev/null)" == prometheus ]] || continue
      echo "signal-clients: stopping the packaged alertmanager (pid $pid)"
      kill "$pid" 2>/dev/null || true
    done
  fi
}

signal_clients_main "$@"
