#!/usr/bin/env bash
# Build dist/meshchat_<version>_all.deb from this checkout with dpkg-deb (no network).
#
#   rpi/build-deb.sh                      # version from meshchat/__init__.py, revision 1
#   DEB_VERSION=0.1.0~old-1 rpi/build-deb.sh
#
# Debian's own packages carry the runtime (python3-aiohttp, -aiosqlite, -zeroconf,
# -msgpack, -nacl, -ifaddr): the .deb holds meshchat's pure-Python code, the command, the
# systemd unit and the default config. Byte-code is made at install (py3compile).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
UPSTREAM=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' meshchat/__init__.py)
DEB_VERSION=${DEB_VERSION:-$UPSTREAM-1}
OUT=${OUT:-dist}
STAGE=build/deb/meshchat
SITE=$STAGE/usr/lib/python3/dist-packages
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

# The shipped config is generated from meshchat.config (rpi/genconfig.py): refuse a stale one.
if ! "$PYTHON" rpi/genconfig.py | cmp -s - rpi/meshchat.toml; then
    echo "rpi/meshchat.toml is stale: run $PYTHON rpi/genconfig.py > rpi/meshchat.toml" >&2
    exit 1
fi

rm -rf "$STAGE"
install -d "$SITE" "$STAGE/usr/bin" "$STAGE/lib/systemd/system" "$STAGE/etc/meshchat" \
    "$STAGE/usr/share/doc/meshchat" "$STAGE/DEBIAN"

# Every file of the package (its data too: web/static, actions/scripts), never caches.
(cd . && find meshchat -type f ! -path '*/__pycache__/*' ! -name '*.py[co]') | sort |
    while read -r file; do
        mode=0644
        [ -x "$file" ] && mode=0755
        install -D -m "$mode" "$file" "$SITE/$file"
    done
DIST_INFO=$SITE/meshchat-$UPSTREAM.dist-info
install -d "$DIST_INFO"
cat > "$DIST_INFO/METADATA" <<META
Metadata-Version: 2.1
Name: meshchat
Version: $UPSTREAM
Summary: Signed, replicated chat for amateur-radio and emergency meshes
Requires-Python: >=3.11
License: GPL-3.0-or-later
META
echo debian > "$DIST_INFO/INSTALLER"
echo meshchat > "$DIST_INFO/top_level.txt"

install -m 0755 rpi/debian/meshchat "$STAGE/usr/bin/meshchat"
install -m 0644 rpi/meshchat.service "$STAGE/lib/systemd/system/meshchat.service"
install -m 0640 rpi/meshchat.toml "$STAGE/etc/meshchat/meshchat.toml"
install -m 0644 rpi/debian/copyright README.md "$STAGE/usr/share/doc/meshchat/"
install -m 0755 rpi/debian/postinst rpi/debian/prerm rpi/debian/postrm "$STAGE/DEBIAN/"
install -m 0644 rpi/debian/conffiles "$STAGE/DEBIAN/conffiles"

size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@SIZE@/$size/" rpi/debian/control.in \
    > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' |
    LC_ALL=C sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums"
find "$STAGE" -type d -exec chmod 0755 {} +

mkdir -p "$OUT"
deb="$OUT/meshchat_${DEB_VERSION}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$deb" >/dev/null
echo "$deb"
