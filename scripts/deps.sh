#!/usr/bin/env bash
# Install the Debian packages ringfan needs to build, test, demo and benchmark.
# Used by 'make demo', 'make test' and 'make bench'. Installs only what is
# missing; needs root (or sudo) when something is.
set -euo pipefail

what=${1:-test}
pkgs=(gcc make meson ninja-build pkg-config libpcap-dev libmnl-dev libxdp-dev libbpf-dev libcmocka-dev libmicrohttpd-dev libnl-3-dev libnl-route-3-dev libncurses-dev iproute2 procps util-linux)
case "$what" in
demo) ;;
test) pkgs+=(clang libclang-rt-14-dev llvm clang-format scdoc tshark tcpdump tcpreplay python3 prometheus curl tmux ethtool bpftool libndpi-bin pmacct argus-server argus-client) ;;
bench) pkgs+=(valgrind gnuplot-nox tcpdump tcpreplay tshark) ;;
deb) pkgs+=(build-essential debhelper lintian libcmocka-dev) ;;
*) echo "usage: $0 [demo|test|bench|deb]" >&2; exit 2 ;;
esac
# Man pages are built, and installed by 'make install', when scdoc is there.
pkgs+=(scdoc)
# tests/system/install*.sh: systemd checks and runs the installed unit;
# deb_package.sh builds the Debian packages.
if [ "$what" = test ]; then
	pkgs+=(systemd systemd-container libcap2-bin man-db build-essential debhelper lintian)
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "ringfan: installing missing packages: ${missing[*]}"
sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "ringfan: run as root, or install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
