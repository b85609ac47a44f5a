#!/usr/bin/env bash
# make wheel: the odoo-addon-account_dunning wheel of the committed HEAD, in dist/.
# whool names the add-on after the folder it builds in (pip resolves symlinks), so
# the build runs in a clone of HEAD in a folder named account_dunning.
#
# The wheel holds the add-on only: what Odoo loads to install and run it. The rest
# of the repository (scripts, bench, tests, docs, CI, tool settings) is for
# developing it. whool packs every file git tracks, so the clone drops the others
# from its index first, and the built wheel is checked against the same list.
#
#   bash scripts/wheel.sh                 build, then check the wheel
#   bash scripts/wheel.sh --check FILE    only check a wheel built earlier
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Top-level files and folders of the add-on that Odoo needs.
ADDON_PATHS_RE='(__init__\.py|__manifest__\.py|hooks\.py|(controllers|data|i18n|models|report|security|services|static|views|wizards)/.+)'

# Fails listing every file of wheel $1 outside the add-on and its metadata.
check_wheel() {
    local wheel="$1" stray
    [[ -f "$wheel" ]] || die "no wheel $wheel"
    stray="$("$VPY" -c 'import sys, zipfile; print(*zipfile.ZipFile(sys.argv[1]).namelist(), sep="\n")' "$wheel" |
        grep -vE "^(odoo/addons/$ADDON/$ADDON_PATHS_RE|odoo_addon_${ADDON}-[^/]+\.dist-info/[^/]+)\$" || true)"
    if [[ -n "$stray" ]]; then
        printf '%s\n' "$stray" >&2
        die "$(basename "$wheel") holds the files above, which are not part of the add-on"
    fi
    [[ "$("$VPY" -c 'import sys, zipfile; print(sys.argv[2] in zipfile.ZipFile(sys.argv[1]).namelist())' \
        "$wheel" "odoo/addons/$ADDON/__manifest__.py")" == True ]] || die "$(basename "$wheel") has no __manifest__.py"
    log "$(basename "$wheel"): the add-on only"
}

if [[ "${1:-}" == --check ]]; then
    [[ $# == 2 ]] || die "usage: $0 --check FILE.whl"
    ensure_venv
    check_wheel "$2"
    exit
fi

ensure_python_deps
src="$BUILD/wheel/$ADDON"
out="$BUILD/wheel/dist"
rm -rf "$BUILD/wheel"
git clone -q "$REPO" "$src"
# pyproject.toml stays for pip to find whool; whool leaves it out of the wheel.
git -C "$src" ls-files -z | grep -zvE "^($ADDON_PATHS_RE|pyproject\.toml)\$" |
    xargs -0 --no-run-if-empty git -C "$src" rm -q --
"$VPY" -m pip wheel -q --no-deps --no-build-isolation -w "$out" "$src"
wheel="$(ls "$out"/*.whl)"
check_wheel "$wheel"
mkdir -p "$REPO/dist"
mv "$wheel" "$REPO/dist/"
rm -rf "$BUILD/wheel"
ls -1 "$REPO/dist/$(basename "$wheel")"
