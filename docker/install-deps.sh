#!/bin/sh
# install-deps.sh: install what kakaowatch needs from Debian's archive.
# Used by the README, by .ci/run and by docker/Dockerfile (build stage).
#
#   sudo docker/install-deps.sh          build + test dependencies (default)
#   sudo docker/install-deps.sh runtime  only the shared libraries the binary needs
#   sudo docker/install-deps.sh browser  optional: the headless Chromium of
#                                        `render: browser` (488 MB with its
#                                        libraries, measured in the browser image;
#                                        the small image leaves it out; the
#                                        render tests skip without it)
#
# Debian 12 (bookworm) and Ubuntu 22.04+ package names.
# libonig-dev is listed: Debian's libjq-dev 1.6 does not depend on it, and the
# build links libonig.so.
set -eu

build_pkgs="build-essential cmake pkg-config ca-certificates \
libcurl4-openssl-dev libxml2-dev libyaml-dev libsqlite3-dev libjansson-dev \
libpcre2-dev libutf8proc-dev libjq-dev libonig-dev libgumbo-dev libidn2-dev libcmocka-dev python3 \
python3-html5lib python3-lxml groff-base clang-format tzdata libfaketime"
runtime_pkgs="ca-certificates libcurl4 libxml2 libyaml-0-2 libsqlite3-0 libjansson4 libpcre2-8-0 libutf8proc2 libjq1 libonig5 libgumbo1 libidn2-0 tzdata"

browser_pkgs="chromium-headless-shell"

case "${1:-build}" in
build) pkgs=$build_pkgs ;;
runtime) pkgs=$runtime_pkgs ;;
browser) pkgs=$browser_pkgs ;;
*) echo "usage: $0 [build|runtime|browser]" >&2; exit 2 ;;
esac

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	exit 0
fi
echo "install-deps: installing$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
