# Shared helpers for system tests (sourced). Each test is a bash script that
# exits 0 on success, 77 when a prerequisite is missing (with a "SKIP:" line
# saying which), anything else on failure.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${RINGFAN_BUILD:-$TOP/build}
RINGFAN=$BUILD/ringfan
PCAPS=${RINGFAN_PCAPS:-$TOP/../shared/pcaps}
TMP=$(mktemp -d /tmp/ringfan-test.XXXXXX)
# Queue, lock and stats files of this test only.
export RINGFAN_DIR=$TMP/run
mkdir -p "$RINGFAN_DIR"

_netns=()
_pids=()

cleanup() {
	local p ns
	for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	# mk_netns usually runs in a command substitution (a subshell), so its
	# names are found by their prefix rather than remembered in _netns.
	for ns in "${_netns[@]}" $(ip netns list 2>/dev/null | awk -v p="rft-$$-" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
info() { echo "# $*"; }

need_root() { ((EUID == 0)) || skip "needs root"; }
need_cmd() { local c; for c; do command -v "$c" >/dev/null || skip "needs $c"; done; }
need_pcaps() { [ -d "$PCAPS" ] || skip "captures folder $PCAPS is absent"; }

# Remember a background pid so that cleanup kills it.
bg_pid() { _pids+=("$1"); }

# Create a network namespace with a name unique to this test; prints the name.
mk_netns() {
	local ns="rft-$$-$RANDOM-$1"
	ip netns add "$ns" || skip "cannot create network namespaces"
	_netns+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}

# Poll until a command succeeds, or fail after $1 seconds.
wait_until() {
	local t=$1 end
	shift
	end=$((SECONDS + t))
	until "$@"; do
		((SECONDS < end)) || fail "timed out after ${t}s waiting for: $*"
		sleep 0.05
	done
}

# pub_copy FILE...: copies any user may run (the build tree may sit below a
# directory only root can enter); prints the copy of the first FILE. A copy
# of a program linked with libringfan finds the library next to it through
# LD_LIBRARY_PATH="$TMP/pub".
pub_copy() {
	local f
	mkdir -p "$TMP/pub" && chmod 0711 "$TMP" && chmod 0755 "$TMP/pub" ||
		fail "cannot make $TMP/pub"
	for f; do
		cp -L "$f" "$TMP/pub/" && chmod a+rX "$TMP/pub/$(basename "$f")" ||
			fail "cannot copy $f to $TMP/pub"
	done
	echo "$TMP/pub/$(basename "$1")"
}

# qinfo QUEUE KEY: a live counter or property of a queue, asked of the queue
# itself (qstress query: generation, enqueued, consumer_pid, finished, ...).
QSTRESS=$BUILD/tests/tools/qstress
qinfo() { "$QSTRESS" query "$1" 2>/dev/null | sed -n "s/^$2=//p" || true; }
qfinished() { qinfo "$1" finished; }

# A process is running (not gone, not a zombie).
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }

# stat_of CLUSTER KEY: a value of the cluster's stats file (empty if absent);
# stat_is / stat_gt / stat_ge CLUSTER KEY VALUE: tests on it, for wait_until.
stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null || true; }
stat_is() { [ "$(stat_of "$1" "$2")" == "$3" ]; }
stat_gt() { local v; v=$(stat_of "$1" "$2"); [ -n "$v" ] && ((v > $3)); }
stat_ge() { local v; v=$(stat_of "$1" "$2"); [ -n "$v" ] && ((v >= $3)); }

# The files in the queue directory but for .lock, the directory's own (producers
# serialize on it): what a cluster left there.
queue_dir_files() { ls -A "${1:-$RINGFAN_DIR}" | grep -vx '\.lock' || true; }

check_eq() { # actual expected what
	[ "$1" == "$2" ] || fail "$3: got '$1', expected '$2'"
	info "ok: $3 = $1"
}

# Run a command that must fail with a given exit status and a message
# matching a pattern on stderr: expect_fail STATUS PATTERN cmd...
expect_fail() {
	local want=$1 pat=$2 rc=0 err
	shift 2
	err=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" == "$want" ] || fail "'$*' exited $rc, expected $want (stderr: $err)"
	grep -qE -- "$pat" <<<"$err" || fail "'$*' said '$err', expected /$pat/"
	info "ok: '$*' -> $rc: $err"
}

# The sanitizers of the build under test: "none", or e.g. "address,undefined".
build_sanitize() {
	meson introspect --buildoptions "$BUILD" | /usr/bin/python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"))'
}

# overlay_dir DIR: in this test's private mount namespace, writes to DIR land
# in $TMP (an overlay), and the machine's DIR stays as it is.
overlay_dir() {
	local d=$1 w
	w=$TMP/overlay$(echo "$d" | tr / _)
	mkdir -p "$w/up" "$w/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$w/up,workdir=$w/work" "$d" ||
		skip "cannot mount an overlay on $d"
}

# Wireshark's dissection of a capture, as affinity and explain_tshark compare
# with it: one field list for both (each reads the columns it names), no
# reassembly, every occurrence of a field. Within one run of
# scripts/run-tests.sh ($RINGFAN_TEST_CACHE, removed at its end) a capture
# is dissected once: keyed by its path, size and modification time.
TSHARK_FIELDS=(frame.number frame.protocols ip.src ip.dst ip.proto ip.id ip.flags.mf ip.frag_offset
	ipv6.src ipv6.dst ipv6.nxt ipv6.hopopts.nxt ipv6.routing.nxt ipv6.dstopts.nxt ipv6.fraghdr.nxt
	ipv6.fraghdr.ident ipv6.fraghdr.offset ipv6.fraghdr.more tcp.srcport tcp.dstport udp.srcport
	udp.dstport arp.src.proto_ipv4 arp.dst.proto_ipv4 vxlan.vni pppoe.payload_length ip.len ipv6.plen)
tshark_dissect() { # capture out.tsv
	local f args=() cached=
	for f in "${TSHARK_FIELDS[@]}"; do args+=(-e "$f"); done
	if [ -n "${RINGFAN_TEST_CACHE:-}" ] && [ -d "$RINGFAN_TEST_CACHE" ]; then
		cached=$RINGFAN_TEST_CACHE/tshark.$(stat -Lc '%n %s %Y' "$1" | sha1sum | cut -c1-20).tsv
		if [ -f "$cached" ]; then
			cp "$cached" "$2"
			return
		fi
	fi
	tshark -r "$1" -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
		-T fields -E occurrence=a -E aggregator=, "${args[@]}" >"$2" 2>/dev/null || return 1
	if [ -n "$cached" ]; then
		cp "$2" "$cached.$BASHPID" && mv "$cached.$BASHPID" "$cached"
	fi
}
