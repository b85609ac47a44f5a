#!/usr/bin/env bash
# make test: a fresh test database with the add-on installed (no demo data), then
# pytest over tests/: Odoo test cases through pytest-odoo, and the pure-Python
# tests of tests/unit. Extra pytest arguments: PYTEST_ARGS="-k promise -x".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The customer page's tours pay with Odoo's demo payment provider: a test-only
# module, installed in the test database but never a dependency of the add-on.
EXTRA_MODULES="${EXTRA_MODULES:-payment_demo}"

bootstrap
ensure_chromium

if [[ "${TEST_REUSE_DB:-0}" == 1 && "$(module_state "$TEST_DB")" == installed ]]; then
    log "Reusing $TEST_DB: updating $ADDON"
    ensure_extra_modules "$TEST_DB"
    odoo_bin -d "$TEST_DB" -u "$ADDON" --stop-after-init --no-http --log-level=warn ||
        die "updating $ADDON in $TEST_DB failed (see the log above)"
else
    create_db "$TEST_DB"
fi

# Collect through the add-ons path symlink, never through the clone's own folder:
# pytest-odoo names a test module after the folders above it that hold an
# __init__.py (.build/addons/account_dunning/tests/test_x.py gives
# odoo.addons.account_dunning.tests.test_x), and that must be the module Odoo
# itself imports from its addons path. The rootdir and confcutdir keep pytest from
# walking up to the clone's folder (a package too, named after the clone).
log "Running pytest"
cd "$REPO"
# scripts/pytest_odoo18.py: what Odoo 18's own test runner does and pytest-odoo
# leaves out (current_test set; a logged error fails the test; logged warnings
# show in pytest's warnings summary).
set +e
# PYTEST_ARGS is split as the shell would split it, quotes included:
# PYTEST_ARGS='-k "promise or plan"' passes one -k expression.
eval "pytest_args=(${PYTEST_ARGS:-})"
PYTHONPATH="$REPO/scripts${PYTHONPATH:+:$PYTHONPATH}" "$VPY" -m pytest -p pytest_odoo18 \
    --rootdir "$ADDONS_DIR/$ADDON" --confcutdir "$ADDONS_DIR/$ADDON" \
    --odoo-config "$ODOO_CONF" --odoo-database "$TEST_DB" --odoo-http --odoo-log-level=warn \
    "${pytest_args[@]}" "$ADDONS_DIR/$ADDON/tests"
rc=$?
set -e
if [[ $rc == 5 ]]; then
    die "pytest collected no test"
fi
exit $rc
