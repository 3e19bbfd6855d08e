#!/usr/bin/env bash
# Build dist/meshchat_<version>_all.ipk for OpenWrt 24.10 without the SDK.
#
# The same package openwrt/meshchat/Makefile makes on 24.10 (Python 3.11, the feed's
# aiohttp): meshchat's byte-code (sources dropped, as Py3Package does), aiosqlite bundled
# in /usr/lib/meshchat/vendor, the procd init script, the UCI config as a conffile, the
# user from Require-User. Versions, hashes and Depends are read from the Makefile, so the
# two cannot drift. The aiosqlite wheel comes from PyPI (pip download) once and is kept in
# build/openwrt/dl, checked against the Makefile's sha256.
#
# An ipk is a gzipped tar of ./debian-binary, ./data.tar.gz and ./control.tar.gz, as the
# SDK's scripts/ipkg-build writes it.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-dist}
MK=openwrt/meshchat/Makefile
FILES=openwrt/meshchat/files
WORK=build/openwrt
DL=$WORK/dl
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

field() { sed -n "s/^$1:=//p" "$MK" | head -1; }
VERSION=$(field PKG_VERSION)
RELEASE=$(field PKG_RELEASE)
UPSTREAM=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' meshchat/__init__.py)
if [ "$VERSION" != "$UPSTREAM" ]; then
    echo "$MK has PKG_VERSION $VERSION but meshchat is $UPSTREAM" >&2
    exit 1
fi
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$PYVER" != 3.11 ]; then
    echo "byte-code for OpenWrt 24.10 needs Python 3.11, $PYTHON is $PYVER" >&2
    exit 1
fi
# 24.10's Depends: the Makefile's list, with the feed's aiohttp.
DEPENDS=$(sed -n '/^define Package\/meshchat$/,/^endef/p' "$MK" |
    sed -n '/DEPENDS:=/,/[^\\]$/p' | sed -e 's/.*DEPENDS:=//' -e 's/\\//' |
    sed -e 's/\$(MESHCHAT_HTTP_DEPENDS)/+python3-aiohttp/' | tr -s ' \t\n' ' ' |
    sed -e 's/+//g' -e 's/^ //' -e 's/ $//' -e 's/ /, /g')
REQUIRE_USER=$(sed -n 's/^  USERID:=//p' "$MK")
read -r AIOSQLITE_VERSION AIOSQLITE_HASH < <(
    sed -n 's/^\$(eval \$(call Vendor,aiosqlite,\([^,]*\),\([0-9a-f]*\)))$/\1 \2/p' "$MK")

WHEEL=$DL/aiosqlite-$AIOSQLITE_VERSION-py3-none-any.whl
if [ ! -f "$WHEEL" ] || ! echo "$AIOSQLITE_HASH  $WHEEL" | sha256sum -c --quiet 2>/dev/null; then
    mkdir -p "$DL"
    "$PYTHON" -m pip download -q --no-deps --only-binary :all: --dest "$DL" \
        "aiosqlite==$AIOSQLITE_VERSION"
fi
echo "$AIOSQLITE_HASH  $WHEEL" | sha256sum -c --quiet

PKG=$WORK/pkg
DATA=$PKG/data
CONTROL=$PKG/CONTROL
SITE=$DATA/usr/lib/python3.11/site-packages
rm -rf "$PKG"
install -d "$SITE" "$DATA/usr/bin" "$DATA/usr/lib/meshchat/vendor" "$DATA/etc/init.d" \
    "$DATA/etc/config" "$DATA/lib/upgrade/keep.d" "$CONTROL"

find meshchat -type f ! -path '*/__pycache__/*' ! -name '*.py[co]' | sort | while read -r f; do
    install -D -m 0644 "$f" "$SITE/$f"
done
[ -d meshchat/actions/scripts ] && chmod 0755 "$SITE"/meshchat/actions/scripts/*.py
install -d "$SITE/meshchat-$VERSION.dist-info"
printf 'Metadata-Version: 2.1\nName: meshchat\nVersion: %s\n' "$VERSION" \
    > "$SITE/meshchat-$VERSION.dist-info/METADATA"
"$PYTHON" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if not (".dist-info/" in n or "/tests/" in n)])' \
    "$WHEEL" "$DATA/usr/lib/meshchat/vendor"

# Byte-code beside the sources, then the sources go (Py3Package: Python3/CompileAll and
# DeleteSourceFiles) — except the bundled gateway scripts, which run as files.
PYTHONHASHSEED=$SOURCE_DATE_EPOCH "$PYTHON" -m compileall -q -b -d / -r 20 \
    "$SITE" "$DATA/usr/lib/meshchat/vendor" >/dev/null
find "$DATA" -name '*.py' ! -path '*/meshchat/actions/scripts/*' -delete
find "$DATA" -name '*.pyc' -path '*/actions/scripts/*' -delete

install -m 0755 "$FILES/meshchat.wrapper" "$DATA/usr/bin/meshchat"
install -m 0755 "$FILES/meshchat.init" "$DATA/etc/init.d/meshchat"
install -m 0644 "$FILES/meshchat.config" "$DATA/etc/config/meshchat"
install -m 0644 "$FILES/meshchat.keep" "$DATA/lib/upgrade/keep.d/meshchat"

cat > "$CONTROL/control" <<CTRL
Package: meshchat
Version: $VERSION-r$RELEASE
Depends: $DEPENDS
Source: feeds/meshchat/meshchat
SourceName: meshchat
License: GPL-3.0-or-later
Section: net
Require-User: $REQUIRE_USER
Architecture: all
Installed-Size: 0
Description: Signed, replicated chat for amateur-radio and emergency meshes
 Every node keeps the whole message log of its zone in SQLite, finds its peers
 (static, mDNS, AREDN service lists) and exchanges only what is missing.
CTRL
echo /etc/config/meshchat > "$CONTROL/conffiles"
cat > "$CONTROL/postinst" <<'SH'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
SH
cat > "$CONTROL/prerm" <<'SH'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
SH
chmod 0755 "$CONTROL/postinst" "$CONTROL/prerm"
chmod 0644 "$CONTROL/control" "$CONTROL/conffiles"
find "$DATA" -type d -exec chmod 0755 {} +

TARFLAGS=(--format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime="@$SOURCE_DATE_EPOCH")
tar "${TARFLAGS[@]}" -C "$DATA" -cf - . | gzip -n > "$PKG/data.tar.gz"
size=$(zcat "$PKG/data.tar.gz" | wc -c)
sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$CONTROL/control"
tar "${TARFLAGS[@]}" -C "$CONTROL" -cf - . | gzip -n > "$PKG/control.tar.gz"
echo 2.0 > "$PKG/debian-binary"
mkdir -p "$OUT"
ipk="$OUT/meshchat_$VERSION-r${RELEASE}_all.ipk"
tar "${TARFLAGS[@]}" -C "$PKG" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz |
    gzip -n > "$ipk"
echo "$ipk"
