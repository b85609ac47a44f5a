#!/usr/bin/env bash
# make demo: the demo database with the add-on and its demo data, served on
# http://localhost:$HTTP_PORT (admin / admin). Ctrl-C stops the server; the data stays.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bootstrap
ensure_wkhtmltopdf

# The demo's outgoing mail server is a local catcher: reminders really leave
# Odoo's mail queue and land as .eml files in .build/demo-mail/.
MAIL_DIR="$REPO/.build/demo-mail"
"$VPY" "$REPO/scripts/mail_catcher.py" --port 2525 --dir "$MAIL_DIR" \
    >>"$REPO/.build/demo-mail.log" 2>&1 &
catcher=$!
trap 'kill "$catcher" 2>/dev/null' EXIT


if [[ "$(module_state "$DEMO_DB")" != installed ]]; then
    create_db "$DEMO_DB"
    log "Loading demo data (scripts/demo_data.py)"
    if ! "$VPY" "$REPO/scripts/demo_data.py" -c "$ODOO_CONF" -d "$DEMO_DB"; then
        # Drop it, so the next run starts over instead of serving half a demo.
        drop_db "$DEMO_DB"
        die "scripts/demo_data.py failed: database $DEMO_DB dropped"
    fi
    stamp_set "demo-module-$DEMO_DB" "$(module_hash)"
elif ! stamp_ok "demo-module-$DEMO_DB" "$(module_hash)"; then
    log "The add-on changed: updating it in $DEMO_DB"
    odoo_bin -d "$DEMO_DB" -u "$ADDON" --stop-after-init --no-http --log-level=warn ||
        die "updating $ADDON in $DEMO_DB failed (see the log above)"
    stamp_set "demo-module-$DEMO_DB" "$(module_hash)"
fi

log "Emails sent by the demo are saved in $MAIL_DIR (nothing is delivered)"
log "Serving $DEMO_DB on http://localhost:$HTTP_PORT (login admin, password admin; collector: collector / collector; Ctrl-C stops)"
"$VPY" "$ODOO_DIR/odoo-bin" -c "$ODOO_CONF" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$"
