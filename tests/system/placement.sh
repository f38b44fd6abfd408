#!/usr/bin/env bash
# Placement of new flows (--placement, --weights): a flow table with hash
# placement puts every packet where the stateless hash does; least-loaded
# evens out the packets of the 28 MB capture over 4 queues (max/mean below
# 1.05 and below the hash's) without splitting a flow (flows as tshark
# dissects them); weighted 2,1,1,1 gives queue 0 twice the flows of each
# other queue, flows whole; errors at start.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tshark awk
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
SPLIT=(/usr/bin/python3 "$TOP/tests/system/flow_split.py")

stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }
# max/mean of the queues' enqueued packets, as 1.2345
ratio() {
	awk -F': ' '$1 ~ /^queue\.[0-9]+\.enqueued$/ { n++; s += $2; if ($2 > m) m = $2 }
		END { printf "%.4f", m / (s / n) }' "$RINGFAN_DIR/$1.stats"
}
egress4() { local d=$1; echo -r "0:pcap:$d/q0.pcap" -r "1:pcap:$d/q1.pcap" -r "2:pcap:$d/q2.pcap" -r "3:pcap:$d/q3.pcap"; }

# --- a table with hash placement changes nothing ---
# (also with fragments held and released: the table's path decodes a chunk of
# packets ahead of placing them, the released fragments must follow in order)
"$RINGFAN" gen -o "$TMP/frag.pcap" --all --frag 50 --frag-ooo 50 --flows 100 --packets 5000 \
	>/dev/null 2>&1 || fail "ringfan gen failed"
for in in "$PCAPS/arkime_synthetic.pcap" "$TMP/frag.pcap"; do
	rm -rf "$TMP/plain" "$TMP/table"
	mkdir -p "$TMP/plain" "$TMP/table"
	"$RINGFAN" balance -i "pcap:$in" -c 50 -n 4 -m 5tuple $(egress4 "$TMP/plain") 2>/dev/null ||
		fail "balance without a table failed"
	"$RINGFAN" balance -i "pcap:$in" -c 51 -n 4 -m 5tuple --flow-table 64k --placement hash \
		$(egress4 "$TMP/table") 2>/dev/null || fail "balance --flow-table 64k failed"
	for q in 0 1 2 3; do
		"${CMP[@]}" same "$TMP/plain/q$q.pcap" "$TMP/table/q$q.pcap" >/dev/null ||
			fail "$(basename "$in") queue $q: the flow table moved packets the hash placed"
	done
done
check_eq "$(stat_of 50 frag.released)" "$(stat_of 51 frag.released)" "fragments released"
((0 < $(stat_of 51 frag.released))) || fail "no fragment was held and released"
check_eq "$(stat_of 51 group.0.flow_table)" 65536 "table entries"
((0 < $(stat_of 51 group.0.flows_created))) || fail "the table recorded no flow"

# --- least-loaded on the 28 MB capture: packets even, flows whole ---
big=$PCAPS/ndpi-merged-ether.pcap
[ -f "$big" ] || skip "$big is absent"
"$RINGFAN" balance -i "pcap:$big" -c 52 -n 4 -m 5tuple 2>/dev/null || fail "balance (hash) failed"
hash=$(ratio 52)
mkdir -p "$TMP/ll"
# The capture merges traces decades apart: with a century of idle time no flow expires,
# so a flow's packets are one flow however far apart they are.
"$RINGFAN" balance -i "pcap:$big" -c 53 -n 4 -m 5tuple --placement least-loaded \
	--flow-timeout 3000000000,3000000000 $(egress4 "$TMP/ll") 2>/dev/null ||
	fail "balance --placement least-loaded failed"
ll=$(ratio 53)
info "packets max/mean over 4 queues: hash $hash, least-loaded $ll"
awk -v l="$ll" -v h="$hash" 'BEGIN { exit !(l <= 1.05 && l < h) }' ||
	fail "least-loaded max/mean $ll (hash: $hash): not <= 1.05 and below the hash's"
"${CMP[@]}" split "$big" "$TMP"/ll/q[0-3].pcap >/dev/null || fail "least-loaded lost or reordered packets"
"${SPLIT[@]}" 5tuple "$TMP"/ll/q[0-3].pcap >"$TMP/ll.txt" ||
	fail "least-loaded split a flow: $(tail -1 "$TMP/ll.txt")"
info "least-loaded: $(tail -1 "$TMP/ll.txt")"
check_eq "$(stat_of 53 group.0.flows_evicted)" 0 "flows evicted"
check_eq "$(stat_of 53 group.0.flow_fallback)" 0 "packets placed by the hash"

# --- weighted 2,1,1,1: queue 0 has twice the flows of each other queue ---
mkdir -p "$TMP/w"
cat >"$TMP/w.conf" <<EOF
interface pcap:$big
cluster 54
queues 4
hash-mode 5tuple
placement A:weighted
weights A:2,1,1,1
EOF
"$RINGFAN" balance "$TMP/w.conf" $(egress4 "$TMP/w") 2>/dev/null || fail "balance --weights failed"
"${SPLIT[@]}" 5tuple "$TMP"/w/q[0-3].pcap >"$TMP/w.txt" || fail "weighted split a flow: $(tail -1 "$TMP/w.txt")"
awk '/: [0-9]+ flows$/ { f[n++] = $2 }
	END { m = (f[1] + f[2] + f[3]) / 3; r = f[0] / m
	      printf "# weighted 2,1,1,1: flows %d %d %d %d, queue 0 / others %.2f\n", f[0], f[1], f[2], f[3], r
	      exit !(r > 1.7 && r < 2.3) }' "$TMP/w.txt" || fail "queue 0 does not have twice the flows"
check_eq "$(stat_of 54 group.0.flow_table)" 0 "weighted needs no table"

# --- errors at start ---
expect_usage() { # message-part args...
	local want=$1 rc=0
	shift
	"$RINGFAN" balance -i "pcap:$in" -c 55 "$@" 2>"$TMP/e.err" >/dev/null || rc=$?
	((rc == 2)) || fail "balance $* exited $rc, not 2"
	grep -q -- "$want" "$TMP/e.err" || fail "balance $*: no '$want' in: $(cat "$TMP/e.err")"
}
expect_usage "needs --weights" -n 4 --placement weighted
expect_usage "needs --placement weighted" -n 4 --weights 2,1,1,1
expect_usage "group A has 4 queues, 3 weights" -n 4 --placement weighted --weights 1,1,1
expect_usage "bad --weights" -n 4 --placement weighted --weights 0,0,0,0
expect_usage "bad --placement" -n 4 --placement busiest
expect_usage "need a hashing mode" -n 4 -m rr --placement least-loaded
expect_usage "no flows to place" -n 4 -m fanout --placement weighted --weights 1,1,1,1
expect_usage "give --flow-table a size" -n 4 --placement least-loaded --flow-table off
expect_usage "bad --flow-timeout" -n 4 --flow-timeout 0
exit 0
