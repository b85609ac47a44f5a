#!/usr/bin/env bash
# make i18n: export i18n/account_dunning.pot from the add-on's current files, merge
# it into i18n/es.po, and list what still needs translating. The export reads a
# copy of the tracked and untracked files: Odoo's exporter scans every .py file
# under the add-on folder, and .venv/ lives there.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bootstrap
# One export database per test database: clones or branches that share the
# PostgreSQL cluster must not export each other's records.
DB="${I18N_DB:-${TEST_DB}_i18n}"
if [[ "$(module_state "$DB")" != installed ]]; then
    create_db "$DB"
else
    odoo_bin -d "$DB" -u "$ADDON" --stop-after-init --no-http --log-level=warn
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$ADDON"
(cd "$REPO" && git ls-files -z -co --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$stage/$ADDON")
odoo_bin --addons-path="$ODOO_DIR/odoo/addons,$stage" -d "$DB" \
    --i18n-export="$REPO/i18n/$ADDON.pot" --modules="$ADDON" --stop-after-init \
    --log-level=warn
command -v msgmerge >/dev/null || apt_install gettext
msgmerge --quiet --update --backup=none --no-fuzzy-matching "$REPO/i18n/es.po" \
    "$REPO/i18n/$ADDON.pot"
msgattrib --no-obsolete -o "$REPO/i18n/es.po" "$REPO/i18n/es.po"
msgfmt --check-format -o /dev/null "$REPO/i18n/es.po"
missing=$(msgattrib --untranslated "$REPO/i18n/es.po")
if [[ -n "$missing" ]]; then
    printf '%s\n' "$missing"
    die "i18n/es.po: the msgids above need a Spanish msgstr"
fi
log "i18n/es.po is complete"
