#!/usr/bin/env bash
# make wheel: the odoo-addon-account_dunning wheel of the committed HEAD, in dist/.
# whool names the add-on after the folder it builds in (pip resolves symlinks), so
# the build runs in a clone of HEAD in a folder named account_dunning.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_python_deps
src="$BUILD/wheel/$ADDON"
rm -rf "$BUILD/wheel"
git clone -q "$REPO" "$src"
"$VPY" -m pip wheel -q --no-deps --no-build-isolation -w "$REPO/dist" "$src"
rm -rf "$BUILD/wheel"
ls -1 "$REPO"/dist/*.whl
