#!/bin/bash
# ringfan explain: options, errors and exit codes, output formats, and the
# queue rules of rr and fanout. Needs no tshark; the output checks use a
# small capture from $PCAPS.
source "$(dirname "$0")/lib.sh"
[ -x "$RINGFAN" ] || fail "no ringfan binary at $RINGFAN"

# Usage errors: 2; unreadable input: 1.
expect_fail 2 "missing capture FILE" "$RINGFAN" explain
expect_fail 2 "unknown hash mode 'bogus'" "$RINGFAN" explain -m bogus x.pcap
expect_fail 2 "-m 3: zbalance_ipc's mode 3 .* -n 1,N-1 -m rr" "$RINGFAN" explain -m 3 x.pcap
expect_fail 2 "bad queue count '0' in '-n 0'" "$RINGFAN" explain -n 0 x.pcap
expect_fail 2 "bad queue count 'many'" "$RINGFAN" explain -n many x.pcap
expect_fail 2 "bad queue count '' in '-n 2,'" "$RINGFAN" explain -n 2, x.pcap
expect_fail 2 "more than one FILE" "$RINGFAN" explain a.pcap b.pcap
expect_fail 2 "unknown option '--bogus'" "$RINGFAN" explain --bogus x.pcap
expect_fail 1 "cannot open '$TMP/none.pcap': No such file or directory" \
	"$RINGFAN" explain "$TMP/none.pcap"
echo "not a capture" >"$TMP/text.pcap"
expect_fail 1 "cannot read '$TMP/text.pcap' as pcap or pcapng" "$RINGFAN" explain "$TMP/text.pcap"
if ((EUID != 0)); then
	cp "$TMP/text.pcap" "$TMP/secret.pcap" && chmod 000 "$TMP/secret.pcap"
	expect_fail 1 "cannot open .*: Permission denied" "$RINGFAN" explain "$TMP/secret.pcap"
fi

help=$("$RINGFAN" explain --help) || fail "explain --help failed"
for word in rr ip 5tuple inner-ip inner-5tuple vlan iface fanout --json; do
	grep -q -- "$word" <<<"$help" || fail "--help does not mention $word"
done
grep -qE "inner-5tuple +4 " <<<"$help" || fail "--help does not give inner-5tuple's zbalance number"
info "ok: --help lists the modes and their zbalance_ipc numbers"

need_pcaps
cap=$PCAPS/ipv6-fragmented-dns.pcap
[ -f "$cap" ] || skip "$cap is absent"
n=$(tcpdump -nr "$cap" 2>/dev/null | wc -l)

# The zbalance number and the name give the same answer.
check_eq "$("$RINGFAN" explain -m 4 -n 5 "$cap" 2>/dev/null | md5sum)" \
	"$("$RINGFAN" explain -m inner-5tuple -n 5 "$cap" 2>/dev/null | md5sum)" "-m 4 = -m inner-5tuple"

# One line per packet, every line valid JSON with the documented fields, the
# summary on stderr only.
"$RINGFAN" explain -m 5tuple -n 7 --json "$cap" >"$TMP/out.json" 2>"$TMP/err"
check_eq "$(wc -l <"$TMP/out.json")" "$n" "JSON lines"
/usr/bin/python3 - "$TMP/out.json" <<'EOF' || fail "JSON output"
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    for k in ('frame', 'queue', 'hash', 'layers', 'src', 'dst', 'proto', 'sport', 'dport', 'reason'):
        assert k in o, (k, o)
    assert 0 <= o['queue'] < 7 and o['hash'].startswith('0x'), o
EOF
grep -q "^# $n packets, mode 5tuple, 7 queues" "$TMP/err" || fail "no summary on stderr"
grep -q "fragments: first=" "$TMP/err" || fail "no fragment counters in the summary"
info "ok: JSON lines parse, summary on stderr"

# Text: frame, queue, hash, layers and key fields.
line=$("$RINGFAN" explain -m 5tuple -n 7 "$cap" 2>/dev/null | head -1)
grep -qE '^frame=1 queue=[0-6] hash=0x[0-9a-f]{8} layers=eth:ipv6:udp src=\S+ dst=\S+ proto=17 sport=[0-9]+ dport=53 ip_layer=0$' <<<"$line" ||
	fail "unexpected text line: $line"
info "ok: text line: $line"

# rr: frame index modulo n; fanout: all queues.
bad=$("$RINGFAN" explain -m rr -n 3 --json "$cap" 2>/dev/null |
	awk -F'[:,]' '{ if ($4 != ($2 - 1) % 3) print }' | wc -l)
check_eq "$bad" 0 "rr packets off (frame-1) % n"
bad=$("$RINGFAN" explain -m fanout -n 3 --json "$cap" 2>/dev/null | grep -vc '"queue":"all"' || true)
check_eq "$bad" 0 "fanout packets not on all queues"

# Groups, as the balancer's -n: a queue per group, numbered on across groups.
line=$("$RINGFAN" explain -m 5tuple -n 2,3 "$cap" 2>/dev/null | head -1)
grep -qE '^frame=1 queue=[01],[234] ' <<<"$line" || fail "unexpected line with -n 2,3: $line"
bad=$("$RINGFAN" explain -m 5tuple -n 2,3 --json "$cap" 2>/dev/null | grep -vcE '"queue":\[[01],[234]\]' || true)
check_eq "$bad" 0 "JSON lines without a [group A, group B] queue array"

# ... and they are the balancer's: with -n 2,3 each queue (written to a pcap
# file) holds the packets explain gives it, in order (told by their times).
need_cmd tcpdump
"$RINGFAN" gen -o "$TMP/g.pcap" --flows 40 --packets 1000 --seed 5 -q || fail "gen failed"
eg=()
for q in 0 1 2 3 4; do eg+=(-r "$q:pcap:$TMP/q$q.pcap"); done
"$RINGFAN" balance -i "pcap:$TMP/g.pcap" -c 31 -n 2,3 -m 5tuple "${eg[@]}" 2>"$TMP/bal.err" ||
	fail "balance -n 2,3 failed: $(cat "$TMP/bal.err")"
tcpdump -tt -nr "$TMP/g.pcap" 2>/dev/null | awk '{ print NR, $1 }' >"$TMP/times"
"$RINGFAN" explain -m 5tuple -n 2,3 "$TMP/g.pcap" 2>/dev/null |
	sed -n 's/^frame=\([0-9]*\) queue=\([0-9]*\),\([0-9]*\) .*/\1 \2 \3/p' >"$TMP/picks"
for q in 0 1 2 3 4; do
	want=$(awk -v q=$q 'NR == FNR { t[$1] = $2; next } $2 == q || $3 == q { print t[$1] }' \
		"$TMP/times" "$TMP/picks")
	got=$(tcpdump -tt -nr "$TMP/q$q.pcap" 2>/dev/null | awk '{ print $1 }')
	[ -n "$want" ] || fail "explain gives queue $q no packet"
	[ "$want" == "$got" ] || fail "queue $q: the balancer's packets are not explain's"
done
info "ok: explain -n 2,3 names the queues balance -n 2,3 writes each packet to"

# The flow table's decisions, and they are the balancer's: group A (3 queues)
# shunts each flow after its first 2 packets and places flows by the weights
# 1,0,2; group B (2 queues) by least load. Each queue holds the packets
# explain gives it (a shunted one: none), queue 1 (weight 0) nothing, and
# group A each flow's first 2 packets, by tshark's reading of the capture.
need_cmd tshark mergecap
fl=(-m 5tuple -n 3,2 --flow-table 1k --shunt-packets A:2 --placement A:weighted --weights A:1,0,2
	--placement B:least-loaded)
eg=()
for q in 0 1 2 3 4; do eg+=(-r "$q:pcap:$TMP/f$q.pcap"); done
"$RINGFAN" balance -i "pcap:$TMP/g.pcap" -c 32 "${fl[@]}" "${eg[@]}" 2>"$TMP/bal.err" ||
	fail "balance ${fl[*]} failed: $(cat "$TMP/bal.err")"
grep -q -- "--placement A:weighted: queues 0-2" "$TMP/bal.err" &&
	grep -q -- "--weights A:1,0,2: queues 0-2" "$TMP/bal.err" ||
	fail "the balancer does not name the placement rules: $(cat "$TMP/bal.err")"
"$RINGFAN" explain "${fl[@]}" "$TMP/g.pcap" 2>"$TMP/why.err" |
	sed -n 's/^frame=\([0-9]*\) queue=\([0-9]*\),\([0-9]*\) .* why=\([a-z-]*\),\([a-z-]*\)$/\1 \2 \3 \4 \5/p' \
		>"$TMP/picks"
check_eq "$(wc -l <"$TMP/picks")" 1000 "explain lines with a queue and a why per group"
check_eq "$(awk '$4 != "weight" && $4 != "shunted" || $5 != "least-loaded"' "$TMP/picks" | wc -l)" 0 \
	"decisions other than weight or shunted (A) and least-loaded (B)"
shunted=$(awk '$4 == "shunted"' "$TMP/picks" | wc -l)
grep -q "^# why: .* least-loaded=1000 .* shunted=$shunted$" "$TMP/why.err" ||
	fail "the summary does not count the decisions: $(grep '^# why' "$TMP/why.err")"
grep -q "^# flow table A: .* shunted=$shunted shunted_flows=40$" "$TMP/why.err" ||
	fail "no table counters in the summary: $(grep '^# flow table A' "$TMP/why.err")"
for q in 0 1 2 3 4; do
	want=$(awk -v q=$q 'NR == FNR { t[$1] = $2; next }
		($2 == q && $4 != "shunted") || ($3 == q && $5 != "shunted") { print t[$1] }' \
		"$TMP/times" "$TMP/picks")
	got=$(tcpdump -tt -nr "$TMP/f$q.pcap" 2>/dev/null | awk '{ print $1 }')
	[ "$want" == "$got" ] || fail "queue $q: the balancer's packets are not explain's (${fl[*]})"
done
check_eq "$(tcpdump -nr "$TMP/f1.pcap" 2>/dev/null | wc -l)" 0 "packets on queue 1 (weight 0)"
conv_times() {
	tshark -r "$1" -T fields -e frame.time_epoch -e ip.src -e ip.dst -e ip.proto \
		-e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport 2>/dev/null |
		awk '{ a = $2 " " $5; b = $3 " " $6; k = $4 (a < b ? a b : b a) } seen[k]++ < 2 { print $1 }' |
		sort
}
mergecap -F pcap -w "$TMP/groupA.pcap" "$TMP"/f[012].pcap || fail "mergecap failed"
[ "$(conv_times "$TMP/g.pcap")" == "$(tshark -r "$TMP/groupA.pcap" -T fields -e frame.time_epoch 2>/dev/null | sort)" ] ||
	fail "group A does not hold exactly the first 2 packets of each flow"
info "ok: explain says why (weight, least-loaded, shunted: $shunted packets) as balance does it"

# A table too small for the flows: the ones without a slot are placed by the hash.
"$RINGFAN" explain -m 5tuple -n 3 --flow-table 4 --shunt-packets 2 "$TMP/g.pcap" \
	>"$TMP/small" 2>"$TMP/small.err"
fb=$(grep -c ' why=fallback$' "$TMP/small" || true)
((fb > 0)) || fail "no packet placed by the hash with a table of 4 flows for 40"
grep -q "^# flow table A: entries=4 .* fallback=$fb " "$TMP/small.err" ||
	fail "fallback not counted: $(grep '^# flow table' "$TMP/small.err")"
"$RINGFAN" explain -m 5tuple -n 3 "$TMP/g.pcap" 2>/dev/null | awk '{ print $1, $2 }' >"$TMP/plain"
bad=$(grep ' why=fallback$' "$TMP/small" | awk '{ print $1, $2 }' | { grep -vxFf "$TMP/plain" || true; } | wc -l)
check_eq "$bad" 0 "packets placed by the table-full fallback elsewhere than the hash's queue"
info "ok: a full table: $fb packets placed by the hash (why=fallback)"

# A failed-over queue (--failed-over, as a balancer's --failover): no packet
# on it; the flows the hash gives it go to live queues (why=failover), every
# other packet where the hash puts it.
"$RINGFAN" explain -m 5tuple -n 4 "$TMP/g.pcap" 2>/dev/null | awk '{ print $1, $2 }' >"$TMP/plain4"
"$RINGFAN" explain -m 5tuple -n 4 --failed-over 3 "$TMP/g.pcap" 2>"$TMP/fo.err" |
	awk '{ print $1, $2, $NF }' >"$TMP/fo"
check_eq "$(wc -l <"$TMP/fo")" 1000 "lines with --failed-over 3"
bad=$(awk 'NR == FNR { q[$1] = $2; next }
	($2 == "queue=3") || (q[$1] == "queue=3" && $3 != "why=failover") ||
	(q[$1] != "queue=3" && ($2 != q[$1] || $3 != "why=hash")) { print }' "$TMP/plain4" "$TMP/fo" | wc -l)
check_eq "$bad" 0 "packets on queue 3, or placed otherwise than by the hash among the live queues"
fo=$(grep -c 'why=failover$' "$TMP/fo" || true)
((fo > 0)) || fail "no flow of queue 3 placed elsewhere"
grep -q " failover=$fo " "$TMP/fo.err" || fail "failover not counted: $(grep '^# why' "$TMP/fo.err")"
expect_fail 2 "--failed-over 4: no such queue \\(queues 0..3\\)" "$RINGFAN" explain -m 5tuple -n 4 --failed-over 4 "$TMP/g.pcap"
info "ok: --failed-over 3: $fo packets of queue 3's flows on live queues"
