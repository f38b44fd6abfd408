#!/usr/bin/env bash
# `ringfan exporter` and `balance --metrics` without Prometheus: --once on a
# directory with a finished cluster and a file that is not a stats file
# (named on stderr, the rest still reported, promtool check metrics
# passes); the HTTP answers (/metrics, /, 404, 405 with Allow); a directory
# not made yet; bad and busy listen addresses; SIGTERM ends the server
# with 0; `balance --metrics` with a bad address is refused before
# anything is created, and one that cannot be bound leaves no cluster.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd curl promtool ip

ns=$(mk_netns exp)
_netns+=("$ns")
nsx() { ip netns exec "$ns" "$@"; }

"$RINGFAN" gen -o "$TMP/in.pcap" --flows 16 --packets 500 --seed 3 -q || fail "ringfan gen failed"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 70 -n 2 2>/dev/null || fail "file replay failed"
printf 'not a stats file\n' >"$RINGFAN_DIR/71.stats"

out=$("$RINGFAN" exporter --once 2>"$TMP/once.err") || fail "exporter --once failed: $(cat "$TMP/once.err")"
grep -qx 'ringfan_balancer_up{cluster="70"} 0' <<<"$out" || fail "cluster 70 not reported down"
grep -qx 'ringfan_source_received_packets_total{cluster="70",source="pcap:'"$TMP"'/in.pcap"} 500' <<<"$out" ||
	fail "cluster 70's packets not reported"
grep -q 'cluster="71"' <<<"$out" && fail "the bad file was reported as a cluster"
grep -q "cannot read stats file '$RINGFAN_DIR/71.stats': not a ringfan stats file" "$TMP/once.err" ||
	fail "the bad file was not named: $(cat "$TMP/once.err")"
promtool check metrics <<<"$out" >"$TMP/lint" 2>&1 || fail "promtool check metrics: $(cat "$TMP/lint")"
info "ok: --once: $(grep -vc '^#' <<<"$out") samples, promtool check metrics passes"
rm "$RINGFAN_DIR/71.stats"

# A directory a balancer has not made yet: no clusters, still valid.
out=$("$RINGFAN" exporter --once --dir "$TMP/none" 2>&1) || fail "exporter --once on a missing directory failed"
grep -q '^ringfan_' <<<"$out" && fail "samples from a missing directory: $out"
grep -q '^# TYPE ringfan_balancer_up gauge$' <<<"$out" || fail "no metric descriptions: $out"

ip netns exec "$ns" "$RINGFAN" exporter --listen 127.0.0.1:9571 2>"$TMP/exp.err" &
exp=$!
bg_pid $exp
up() { nsx curl -sf http://127.0.0.1:9571/ -o /dev/null; }
wait_until 10 up
hdr=$(nsx curl -sfD - http://127.0.0.1:9571/metrics -o "$TMP/metrics.txt") || fail "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' <<<"$hdr" || fail "content type: $hdr"
grep -qx 'ringfan_balancer_up{cluster="70"} 0' "$TMP/metrics.txt" || fail "served metrics lack cluster 70"
check_eq "$(nsx curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9571/nope)" 404 "GET /nope"
check_eq "$(nsx curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9571/metrics)" 405 "POST /metrics"
nsx curl -s -D - -o /dev/null -X DELETE http://127.0.0.1:9571/metrics | grep -qi '^allow: GET, HEAD' ||
	fail "405 without Allow"
expect_fail 1 "cannot listen on '127.0.0.1:9571': Address already in use" \
	nsx "$RINGFAN" exporter --listen 127.0.0.1:9571
kill -TERM $exp
rc=0
wait $exp || rc=$?
check_eq $rc 0 "exporter's exit status on SIGTERM"
[ -s "$TMP/exp.err" ] && fail "the exporter complained: $(cat "$TMP/exp.err")"

for bad in 9571 1.2.3.4 127.0.0.1:0 127.0.0.1:65536 ::1:9571 '[::1]9571' 127.0.0.1:x; do
	expect_fail 2 "bad listen address '${bad//[/\\[}' \(ADDR:PORT" "$RINGFAN" exporter --listen "$bad"
done
expect_fail 2 "unexpected argument 'extra'" "$RINGFAN" exporter extra
expect_fail 2 "bad --metrics address '9572' \(ADDR:PORT" \
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 72 -n 1 --metrics 9572
[ -e "$RINGFAN_DIR/72.stats" ] && fail "a refused --metrics left a stats file"
expect_fail 1 "cannot serve metrics on 'no-such-host.invalid:9572': no such host" \
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 72 -n 1 --metrics no-such-host.invalid:9572
left=$(ls "$RINGFAN_DIR" | grep '^72[.@]' || true)
[ -z "$left" ] || fail "a balancer that could not serve metrics left files: $left"
echo "PASS: ringfan exporter and balance --metrics answer and fail as they should"
