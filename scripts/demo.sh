#!/usr/bin/env bash
# make demo: the demo database with the add-on and its demo data, served on
# http://localhost:$HTTP_PORT (admin / admin). Ctrl-C stops the server; the data stays.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The demo payment provider, so that the customer page can be paid in the demo.
EXTRA_MODULES="${EXTRA_MODULES:-payment_demo}"

bootstrap
ensure_wkhtmltopdf

# The demo's outgoing mail server is a local catcher: reminders really leave
# Odoo's mail queue and land as .eml files in .build/demo-mail/. DEMO_MAIL_PORT
# (default 2525) lets a second demo run beside the first; it is set in a new
# demo database's mail server only.
MAIL_DIR="$REPO/.build/demo-mail"
MAIL_PORT="${DEMO_MAIL_PORT:-2525}"
"$VPY" "$REPO/scripts/mail_catcher.py" --port "$MAIL_PORT" --dir "$MAIL_DIR" \
    >>"$REPO/.build/demo-mail.log" 2>&1 &
catcher=$!
# WhatsApp goes to a local Cloud API sandbox: it records each message in
# .build/demo-whatsapp/ and posts signed delivered/read webhooks back to the
# demo server. The demo's WhatsApp account is marked as a sandbox.
WA_DIR="$REPO/.build/demo-whatsapp"
WA_PORT="${WA_SANDBOX_PORT:-$((HTTP_PORT + 1000))}"
WA_URL="http://127.0.0.1:$WA_PORT"
"$VPY" "$REPO/scripts/whatsapp_sandbox.py" --port "$WA_PORT" --dir "$WA_DIR" \
    --webhook "http://127.0.0.1:$HTTP_PORT/dunning/whatsapp/webhook" \
    >>"$REPO/.build/demo-whatsapp.log" 2>&1 &
sandbox=$!
trap 'kill "$catcher" "$sandbox" 2>/dev/null' EXIT
for _ in $(seq 1 50); do
    curl -fs -o /dev/null "$WA_URL/_sandbox/received" && break
    kill -0 "$sandbox" 2>/dev/null || die "the WhatsApp sandbox did not start (see .build/demo-whatsapp.log)"
    sleep 0.2
done


if [[ "$(module_state "$DEMO_DB")" != installed ]]; then
    create_db "$DEMO_DB"
    log "Loading demo data (scripts/demo_data.py)"
    if ! "$VPY" "$REPO/scripts/demo_data.py" -c "$ODOO_CONF" -d "$DEMO_DB" \
        --whatsapp-sandbox "$WA_URL" --mail-port "$MAIL_PORT"; then
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
if [[ "$(psql -d "$DEMO_DB" -XAtqc "select count(*) from dunning_whatsapp_account where api_base_url = '$WA_URL'" 2>/dev/null || true)" != 1 ]]; then
    # A demo database from before the WhatsApp demo, or a sandbox on another
    # port: add the WhatsApp part (idempotent) or point the account at it.
    log "WhatsApp demo: sandbox account on $WA_URL"
    "$VPY" "$REPO/scripts/demo_data.py" -c "$ODOO_CONF" -d "$DEMO_DB" \
        --whatsapp-sandbox "$WA_URL" --whatsapp-only ||
        die "scripts/demo_data.py --whatsapp-only failed (see the log above)"
fi

ensure_extra_modules "$DEMO_DB"

log "Emails sent by the demo are saved in $MAIL_DIR (nothing is delivered)"
log "WhatsApp messages go to the local sandbox $WA_URL and are saved in $WA_DIR (nothing leaves this machine)"
log "Serving $DEMO_DB on http://localhost:$HTTP_PORT (login admin, password admin; collector: collector / collector; Ctrl-C stops)"
# The port on the command line: .build/odoo.conf is shared with make test in the
# same checkout, which may rewrite it with its own HTTP_PORT while the demo loads.
"$VPY" "$ODOO_DIR/odoo-bin" -c "$ODOO_CONF" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$" \
    --http-port "$HTTP_PORT"
