#!/usr/bin/env bash
# make lint: ruff (lint + format check), pylint with pylint-odoo's OCA mandatory
# checks, and the OCA module checks (XML, CSV, PO). Runs every linter, then fails
# if any of them did.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_python_deps
ensure_addons_link

cd "$REPO"
failed=()
run() {
    log "$*"
    "$@" || failed+=("$1")
}
run "$VENV/bin/ruff" check .
run "$VENV/bin/ruff" format --check .
# Through the symlink, so the checks see the technical name account_dunning.
run "$VENV/bin/pylint" --rcfile="$REPO/.pylintrc" "$ADDONS_DIR/$ADDON"
run "$VENV/bin/oca-checks-odoo-module" "$ADDONS_DIR/$ADDON"

if ((${#failed[@]})); then
    die "lint failed: ${failed[*]}"
fi
log "lint passed"
