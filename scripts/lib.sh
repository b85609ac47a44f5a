# shellcheck shell=bash
# Shared helpers for the build scripts. Source it; do not run it.
#
# Every step is idempotent and cheap when nothing changed: a step that installs
# something records what it installed in a stamp file under .build/stamps and is
# skipped on the next run while the stamp still matches.
#
# Settings (environment variables, all optional; the Makefile passes them on):
#   PYTHON        interpreter for the virtualenv (python3.11)
#   ODOO_SRC      Odoo 18.0 source: a local source tree or a tarball URL
#   VENV          virtualenv folder (.venv)
#   HTTP_PORT     port of the demo server (8069)
#   DEMO_DB       demo database (dunning_demo)
#   TEST_DB       test database (dunning_test)
#   APT_LOCK_TIMEOUT  seconds to wait for another apt or dpkg to finish (600)

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDON=account_dunning
BUILD="$REPO/.build"
STAMPS="$BUILD/stamps"
ADDONS_DIR="$BUILD/addons"
ODOO_CONF="$BUILD/odoo.conf"

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-$REPO/.venv}"
case "$VENV" in /*) ;; *) VENV="$REPO/$VENV" ;; esac
VPY="$VENV/bin/python"
HTTP_PORT="${HTTP_PORT:-8069}"
DEMO_DB="${DEMO_DB:-dunning_demo}"
TEST_DB="${TEST_DB:-dunning_test}"
# The pip whose behaviour the install steps rely on (PIP_CONSTRAINT reaching the
# isolated build environments, --config-settings for editable installs).
PIP_VERSION=25.1.1
ODOO_NIGHTLY_URL="https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz"
if [[ -z "${ODOO_SRC:-}" ]]; then
    if [[ -d "$HOME/.cache/odoo-src/18.0" ]]; then
        ODOO_SRC="$HOME/.cache/odoo-src/18.0"
    else
        ODOO_SRC="$ODOO_NIGHTLY_URL"
    fi
fi

# Odoo's data folder (filestore, sessions). Database names are global to the
# PostgreSQL cluster, so the filestore is kept per user too, not per clone.
ODOO_DATA_DIR="${ODOO_DATA_DIR:-$HOME/.local/share/Odoo}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" == 0 ]]; }

# Run a command as root: directly when we are root, else through passwordless sudo.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "this step needs root: $*"
    fi
}

# How long apt_install waits for another apt or dpkg to finish (unattended-upgrades
# right after boot, a package manager window) before giving up, in seconds.
APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"

# apt-get "$@" as root, logged to $BUILD/apt.log, waiting while another apt or dpkg
# holds its locks. apt (>= 1.9) waits for dpkg's lock itself (DPkg::Lock::Timeout;
# older versions ignore the option); a run refused for a lock it does not wait for
# (the package lists' lock of apt-get update, an older apt) is tried again.
apt_get() {
    local aptlog="$BUILD/apt.log" try="$BUILD/apt.try.log"
    local deadline=$((SECONDS + APT_LOCK_TIMEOUT)) lock_wait=0 rc holder
    while true; do
        rc=0
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o "DPkg::Lock::Timeout=$lock_wait" "$@" >"$try" 2>&1 || rc=$?
        cat "$try" >>"$aptlog"
        if ((rc == 0)) || ! grep -qE 'Could not get lock|Unable to (acquire|lock)' "$try"; then
            rm -f "$try"
            return "$rc"
        fi
        # "It is held by process 4242 (unattended-upgr)" gives "unattended-upgr, process 4242".
        holder="$(sed -nE 's/.*held by process ([0-9]+) \(([^)]*)\).*/\2, process \1/p' "$try" | head -1)"
        rm -f "$try"
        ((SECONDS < deadline)) ||
            die "another apt or dpkg still holds the package lock after ${APT_LOCK_TIMEOUT} s${holder:+ ($holder)}: wait for it to finish (or stop it), then run this again"
        log "Another apt or dpkg holds the package lock${holder:+ ($holder)}: waiting for it (giving up in $((deadline - SECONDS)) s)"
        sleep 5
        # apt waits for dpkg's lock in this try: at most a minute between messages.
        lock_wait=$((deadline - SECONDS))
        lock_wait=$((lock_wait > 60 ? 60 : lock_wait < 0 ? 0 : lock_wait))
    done
}

apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
    log "apt-get install $*"
    mkdir -p "$STAMPS"
    local aptlog="$BUILD/apt.log"
    : >"$aptlog"
    if { [[ ! -f "$STAMPS/apt-updated" ]] || [[ -n "$(find "$STAMPS/apt-updated" -mmin +720)" ]]; } &&
        ! apt_get update -q; then
        tail -20 "$aptlog" >&2
        die "apt-get update failed (log: $aptlog)"
    fi
    touch "$STAMPS/apt-updated"
    if ! apt_get install -y -q --no-install-recommends "$@"; then
        tail -20 "$aptlog" >&2
        die "apt-get install $* failed (log: $aptlog)"
    fi
}

hash_stdin() { sha256sum | cut -d' ' -f1; }

stamp_ok() { [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp_set() { mkdir -p "$STAMPS" && printf '%s' "$2" >"$STAMPS/$1"; }

# --------------------------------------------------------------------------
# Odoo source
# --------------------------------------------------------------------------

# Sets ODOO_DIR to a local Odoo source tree, downloading and unpacking ODOO_SRC when
# it is a tarball (URL or file) into .build/odoo-src, once per URL: remove that
# folder (or make clean) to fetch a newer "latest" tarball.
resolve_odoo_src() {
    if [[ -f "$ODOO_SRC" ]]; then
        # A tarball on disk: same as its file:// URL.
        ODOO_SRC="file://$(realpath "$ODOO_SRC")"
    fi
    case "$ODOO_SRC" in
    http://* | https://* | file://*)
        ODOO_DIR="$BUILD/odoo-src"
        if stamp_ok odoo-download "$ODOO_SRC" && [[ -f "$ODOO_DIR/odoo-bin" ]]; then
            return
        fi
        log "Downloading Odoo source from $ODOO_SRC"
        mkdir -p "$BUILD"
        rm -rf "$ODOO_DIR" "$BUILD/odoo-src.tmp" "$BUILD/odoo-src.tar.gz"
        local progress=-sS
        [[ -t 2 ]] && progress=--progress-bar
        curl -fL "$progress" --retry 3 --connect-timeout 30 -o "$BUILD/odoo-src.tar.gz" "$ODOO_SRC" ||
            die "downloading $ODOO_SRC failed: set ODOO_SRC to an Odoo 18.0 source tree or tarball"
        mkdir -p "$BUILD/odoo-src.tmp"
        tar -xzf "$BUILD/odoo-src.tar.gz" -C "$BUILD/odoo-src.tmp" --strip-components=1
        mv "$BUILD/odoo-src.tmp" "$ODOO_DIR"
        rm -f "$BUILD/odoo-src.tar.gz"
        stamp_set odoo-download "$ODOO_SRC"
        ;;
    *)
        ODOO_DIR="$(cd "$ODOO_SRC" 2>/dev/null && pwd)" ||
            die "ODOO_SRC=$ODOO_SRC is neither a folder nor a URL"
        ;;
    esac
    [[ -f "$ODOO_DIR/odoo-bin" && -f "$ODOO_DIR/odoo/release.py" && -f "$ODOO_DIR/requirements.txt" ]] ||
        die "$ODOO_DIR does not look like an Odoo source tree (odoo-bin, odoo/release.py, requirements.txt)"
    grep -q "^version_info = (18, 0," "$ODOO_DIR/odoo/release.py" ||
        die "$ODOO_DIR is not Odoo 18.0"
}

# Folders holding Odoo's own add-ons: odoo/addons (base, web, and in a release
# tarball every add-on) and addons/ (a git checkout keeps the others there).
odoo_addons_path() {
    local paths=("$ODOO_DIR/odoo/addons")
    [[ -d "$ODOO_DIR/addons" ]] && paths+=("$ODOO_DIR/addons")
    paths+=("$ADDONS_DIR")
    local IFS=,
    echo "${paths[*]}"
}

# --------------------------------------------------------------------------
# Python virtualenv with Odoo and the development tools
# --------------------------------------------------------------------------

ensure_venv() {
    if [[ -x "$VPY" ]] && "$VPY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        return
    fi
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found: Odoo 18 needs Python 3.11 (set PYTHON=...)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
        die "$PYTHON is not Python 3.11 (set PYTHON=...)"
    log "Creating virtualenv $VENV ($("$PYTHON" --version))"
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        # Debian splits venv/ensurepip into a package of its own.
        rm -rf "$VENV"
        apt_install python3-venv python3-dev
        "$PYTHON" -m venv "$VENV"
    fi
    rm -f "$STAMPS"/pip-*
}

# pip with the build constraints: Odoo 18's pinned requirements include sdists
# whose setup.py no longer builds with setuptools >= 75.
vpip() {
    PIP_CONSTRAINT="$REPO/scripts/pip-build-constraints.txt" \
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$VPY" -m pip "$@"
}

ensure_python_deps() {
    ensure_venv
    resolve_odoo_src
    local key

    # Odoo's pinned requirements, with the psycopg2 wheel instead of the sdist (no
    # libpq headers or compiler needed) and without python-ldap (auth_ldap only).
    mkdir -p "$BUILD"
    sed -e 's/^psycopg2==/psycopg2-binary==/' -e '/^python-ldap/d' \
        "$ODOO_DIR/requirements.txt" >"$BUILD/odoo-requirements.txt"

    key="$PIP_VERSION $(cat "$BUILD/odoo-requirements.txt" "$REPO/scripts/pip-build-constraints.txt" | hash_stdin)"
    if ! stamp_ok pip-odoo-requirements "$key"; then
        log "Installing Odoo's Python requirements (first run: a few minutes)"
        vpip install -q "pip==$PIP_VERSION"
        vpip install -q -r "$BUILD/odoo-requirements.txt"
        stamp_set pip-odoo-requirements "$key"
    fi

    key="$ODOO_DIR $(cat "$ODOO_DIR/odoo/release.py" | hash_stdin)"
    if ! stamp_ok pip-odoo "$key" || ! "$VPY" -c 'import odoo' 2>/dev/null; then
        log "Installing Odoo from $ODOO_DIR (editable)"
        # compat mode puts the source folder itself on sys.path (a .pth file), so
        # the odoo.addons namespace also sees add-ons installed as wheels.
        # --no-deps: setup.py asks for psycopg2 (sdist); the requirements above
        # already brought everything Odoo needs.
        vpip install -q --no-deps -e "$ODOO_DIR" --config-settings editable_mode=compat
        stamp_set pip-odoo "$key"
    fi

    key="$(cat "$REPO/requirements.txt" "$REPO/requirements-dev.txt" "$BUILD/odoo-requirements.txt" | hash_stdin)"
    if ! stamp_ok pip-dev "$key"; then
        log "Installing the module's and the development requirements"
        # Odoo's pins act as constraints so no tool upgrades a library under Odoo.
        vpip install -q -r "$REPO/requirements-dev.txt" -c "$BUILD/odoo-requirements.txt"
        stamp_set pip-dev "$key"
    fi
}

# --------------------------------------------------------------------------
# Add-ons path and Odoo configuration
# --------------------------------------------------------------------------

# The add-on's technical name is account_dunning whatever folder the repository
# was cloned into: Odoo (and pytest-odoo) see it through this symlink.
ensure_addons_link() {
    mkdir -p "$ADDONS_DIR"
    local link="$ADDONS_DIR/$ADDON"
    if [[ "$(readlink "$link" 2>/dev/null)" != "$REPO" ]]; then
        rm -rf "$link"
        ln -s "$REPO" "$link"
    fi
}

write_odoo_conf() {
    ensure_addons_link
    local tmp="$ODOO_CONF.tmp"
    # db_host/db_port/db_user unset: libpq's unix socket as the current OS user.
    cat >"$tmp" <<EOF
# Generated by scripts/lib.sh (make demo / make test): edits are overwritten.
[options]
addons_path = $(odoo_addons_path)
data_dir = $ODOO_DATA_DIR
admin_passwd = admin
list_db = False
without_demo = all
http_interface = 127.0.0.1
http_port = $HTTP_PORT
max_cron_threads = 2
log_level = info
EOF
    if [[ -n "${PGPORT:-}" && "$PGPORT" != 5432 ]]; then
        echo "db_port = $PGPORT" >>"$tmp"
    fi
    mv "$tmp" "$ODOO_CONF"
}

odoo_bin() { "$VPY" "$ODOO_DIR/odoo-bin" -c "$ODOO_CONF" "$@"; }

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

pg_answers() { psql -d postgres -XAtqc 'select 1' >/dev/null 2>&1; }

ensure_postgres() {
    pg_answers && return
    if ! command -v pg_lsclusters >/dev/null || ! command -v psql >/dev/null; then
        apt_install postgresql postgresql-client
    fi
    # Start a cluster, preferring the default port.
    local line ver name port status
    if [[ -z "$(pg_lsclusters -h 2>/dev/null)" ]]; then
        ver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
        log "Creating PostgreSQL cluster $ver/main"
        as_root pg_createcluster "$ver" main
    fi
    line="$(pg_lsclusters -h | awk '$3 == 5432' | head -1)"
    [[ -n "$line" ]] || line="$(pg_lsclusters -h | head -1)"
    read -r ver name port status _ <<<"$line"
    if [[ "$status" != online* ]]; then
        log "Starting PostgreSQL $ver/$name (port $port)"
        as_root pg_ctlcluster "$ver" "$name" start
    fi
    if [[ "$port" != 5432 ]]; then
        export PGPORT="$port"
    fi
    local i
    for i in $(seq 1 30); do
        pg_isready -q -h /var/run/postgresql -p "$port" && break
        sleep 1
    done
    pg_answers && return
    # The cluster answers but not for us: create a superuser role for this OS user.
    local me
    me="$(id -un)"
    log "Creating PostgreSQL superuser role $me"
    if is_root; then
        su postgres -c "createuser -p $port -s $me"
    else
        sudo -n -u postgres createuser -p "$port" -s "$me" ||
            die "cannot create PostgreSQL role $me: run 'sudo -u postgres createuser -s $me'"
    fi
    pg_answers || die "PostgreSQL does not accept connections from $me"
}

db_exists() {
    [[ "$(psql -d postgres -XAtqc "select 1 from pg_database where datname = '$1'")" == 1 ]]
}

# State of the add-on (or of module $2) in a database ('' when absent or not an
# Odoo database).
module_state() {
    psql -d "$1" -XAtqc "select state from ir_module_module where name = '${2:-$ADDON}'" 2>/dev/null || true
}

drop_db() {
    if db_exists "$1"; then
        log "Dropping database $1"
        dropdb --force "$1"
    fi
    rm -rf "$ODOO_DATA_DIR/filestore/$1"
}

# Create database $1 with the add-on installed, without demo data; EXTRA_MODULES
# (comma-separated) are installed with it.
create_db() {
    local db="$1" start state
    drop_db "$db"
    log "Creating database $db with $ADDON${EXTRA_MODULES:+,$EXTRA_MODULES} installed (about two minutes)"
    start=$SECONDS
    odoo_bin -d "$db" -i "$ADDON${EXTRA_MODULES:+,$EXTRA_MODULES}" --without-demo=all --stop-after-init --no-http \
        --log-level=warn || die "installing $ADDON into $db failed (see the log above)"
    state="$(module_state "$db")"
    [[ "$state" == installed ]] || die "$ADDON is '$state' in $db, not installed (see the log above)"
    log "Database $db ready in $((SECONDS - start)) s"
}

# Hash of the add-on's files as Odoo sees them (tracked and untracked, not ignored).
module_hash() {
    (
        cd "$REPO" && git ls-files -z -c -o --exclude-standard -- . ':!bench' ':!scripts' \
            ':!.ci' ':!tests' ':!README.md' ':!Makefile' | sort -z | xargs -0 sha256sum 2>/dev/null
    ) | hash_stdin || true
}

# Odoo's browser tests (HttpCase.browser_js, tours) drive a headless Chromium; they
# skip themselves when none is found. WITH_CHROMIUM=0 skips the install.
ensure_chromium() {
    [[ "${WITH_CHROMIUM:-1}" == 1 ]] || return 0
    local b
    for b in google-chrome chromium chromium-browser google-chrome-stable; do
        command -v "$b" >/dev/null && return 0
    done
    if is_root || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
        apt_install chromium
    else
        log "No Chromium found and no root: browser tests will be skipped"
    fi
}

# Everything Odoo needs before it can run: Python, Odoo, PostgreSQL, config.
bootstrap() {
    ensure_python_deps
    ensure_postgres
    write_odoo_conf
}

# Install the EXTRA_MODULES missing from database $1.
ensure_extra_modules() {
    local db="$1" missing=() mods=() m
    IFS=, read -ra mods <<<"${EXTRA_MODULES:-}"
    for m in "${mods[@]}"; do
        [[ -n "$m" && "$(module_state "$db" "$m")" != installed ]] && missing+=("$m")
    done
    ((${#missing[@]})) || return 0
    local IFS=,
    log "Installing ${missing[*]} in $db"
    odoo_bin -d "$db" -i "${missing[*]}" --stop-after-init --no-http --log-level=warn ||
        die "installing ${missing[*]} into $db failed (see the log above)"
}

# wkhtmltopdf renders invoice PDFs (the reminder levels that attach them). Odoo's
# tests render HTML instead, so only the demo needs it; without it, reminders go
# out without the attachment and say why.
ensure_wkhtmltopdf() {
    command -v wkhtmltopdf >/dev/null && return 0
    if is_root || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
        apt_install wkhtmltopdf
    else
        log "No wkhtmltopdf and no root: reminders will be sent without invoice PDFs"
    fi
}
