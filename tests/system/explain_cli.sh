#!/bin/bash
# ringfan explain: options, errors and exit codes, output formats, and the
# queue rules of rr and fanout. Needs no tshark; the output checks use a
# small capture from $PCAPS.
source "$(dirname "$0")/lib.sh"
[ -x "$RINGFAN" ] || fail "no ringfan binary at $RINGFAN"

# Usage errors: 2; unreadable input: 1.
expect_fail 2 "missing capture FILE" "$RINGFAN" explain
expect_fail 2 "unknown mode 'bogus'" "$RINGFAN" explain -m bogus x.pcap
expect_fail 2 "unknown mode '3'" "$RINGFAN" explain -m 3 x.pcap
expect_fail 2 "bad number of queues '0'" "$RINGFAN" explain -n 0 x.pcap
expect_fail 2 "bad number of queues 'many'" "$RINGFAN" explain -n many x.pcap
expect_fail 2 "more than one FILE" "$RINGFAN" explain a.pcap b.pcap
expect_fail 2 "unrecognized option|invalid option" "$RINGFAN" explain --bogus x.pcap
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
