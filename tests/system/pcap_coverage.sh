#!/usr/bin/env bash
# Every function of the installed libpcap that takes a pcap_t * (its
# prototypes in pcap.h, exported by the real libpcap.so) is defined by
# libringfan-pcap: a handle it made must never reach the real library. Also
# the functions that open a device by name. Fails when a libpcap update adds
# a pcap_t function the interposer does not handle.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcap-helpers.bash"
need_cmd nm
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
header=$(pkg-config --variable=includedir libpcap 2>/dev/null || echo /usr/include)/pcap/pcap.h
[ -r "$header" ] || skip "no $header (libpcap-dev)"
# The libpcap a libpcap program loads (pcap-probe is linked with it alone).
real=$(ldd "$BUILD/tests/tools/pcap-probe" 2>/dev/null | awk '/libpcap/ { print $3 }')
[ -r "$real" ] || skip "cannot find the real libpcap.so"

nm -D --defined-only "$real" | awk '{ print $NF }' | sort -u >"$TMP/real.txt"
nm -D --defined-only "$LIB" | awk '{ print $NF }' | sort -u >"$TMP/ours.txt"
# Prototypes that take a pcap_t * (comments removed), as the header declares them.
/usr/bin/python3 - "$header" >"$TMP/takes.txt" <<'PY'
import re, sys
src = re.sub(r"/\*.*?\*/", "", open(sys.argv[1]).read(), flags=re.S)
for name, args in re.findall(r"PCAP_API\b[^;]*?\b(\w+)\s*\(([^;]*?)\)[^;]*;", src, flags=re.S):
    if re.search(r"\bpcap_t\s*\*", args):
        print(name)
PY
sort -u "$TMP/takes.txt" -o "$TMP/takes.txt"
# Exported on this platform and taking a pcap_t, plus what opens a device by name.
{
	comm -12 "$TMP/takes.txt" "$TMP/real.txt"
	printf '%s\n' pcap_create pcap_open_live pcap_findalldevs pcap_lookupnet
} | sort -u >"$TMP/needed.txt"
count=$(wc -l <"$TMP/needed.txt")
((count > 40)) || fail "only $count pcap_t functions found in $header: the parse is broken"
missing=$(comm -23 "$TMP/needed.txt" "$TMP/ours.txt")
[ -z "$missing" ] || fail "libringfan-pcap does not handle: $(echo $missing)"
info "ok: all $count pcap_t functions of $(basename "$real") are handled"
# The interposer exports libpcap's names only (and ioctl), nothing of its own.
extra=$(grep -v '^pcap_' "$TMP/ours.txt" | grep -vx ioctl || true)
[ -z "$extra" ] || fail "libringfan-pcap exports other symbols: $(echo $extra)"
echo "PASS"
