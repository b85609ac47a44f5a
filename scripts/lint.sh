#!/usr/bin/env bash
# make lint: ruff (lint + format check), pylint with pylint-odoo's OCA mandatory
# checks, and the OCA module checks (XML, CSV, PO). Runs every linter, then fails
# if any of them did.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_python_deps
ensure_addons_link

cd "$REPO"
failed=()
# make help lists the targets whose line has a "## " comment: every target must.
make_help_lists_every_target() {
    local targets listed missing
    targets="$(grep -oE '^[A-Za-z0-9_-]+:([^=]|$)' Makefile | cut -d: -f1 | sort -u)"
    listed="$(make -s --no-print-directory help | awk '{print $2}' | sort -u)"
    missing="$(comm -23 <(echo "$targets") <(echo "$listed"))"
    [[ -z "$missing" ]] || { echo "make help does not list:" $missing >&2; return 1; }
}
run() {
    local name="$1"
    shift
    log "$name: ${*#"$VENV/bin/"}"
    "$@" || failed+=("$name")
}
run ruff-check "$VENV/bin/ruff" check .
run ruff-format "$VENV/bin/ruff" format --check .
# Through the symlink, so the checks see the technical name account_dunning.
# --source-roots: pylint resolves the symlink, then would look for the package
# above the clone's folder.
run pylint-odoo "$VENV/bin/pylint" --rcfile="$REPO/.pylintrc" --source-roots="$ADDONS_DIR" "$ADDONS_DIR/$ADDON"
run make-help make_help_lists_every_target
run oca-checks-odoo-module "$VENV/bin/oca-checks-odoo-module" "$ADDONS_DIR/$ADDON"

if ((${#failed[@]})); then
    die "lint failed: ${failed[*]}"
fi
log "lint passed"
