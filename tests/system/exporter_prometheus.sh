#!/usr/bin/env bash
# `ringfan exporter` and `balance --metrics` scraped by a real Prometheus
# server (Debian's prometheus, scrape interval 0.5 s), all inside a private
# network namespace. A live balancer on a veth (queue 0 read by `ringfan
# count`, queue 1's consumer killed, queue 2 written to a pcap by an
# egress) and a finished cluster. Checks, through Prometheus's HTTP API:
# every series of both endpoints equals `ringfan stats --json` once the
# traffic has stopped; the finished cluster is reported down with its
# counters; across a balancer restart the exporter reports the balancer
# down, then up with a new start time, and each counter resets exactly once
# (monotonic within each run); `promtool check metrics` passes on both
# endpoints. Prometheus loads dist/ringfan.rules.yml (prometheus_rules.sh
# tests what they do).
. "$(dirname "$0")/lib.sh"
need_root
need_cmd prometheus promtool curl tcpreplay ip
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"

ns=$(mk_netns prom)
_netns+=("$ns")
nsx() { ip netns exec "$ns" "$@"; }
# Background processes run through ip netns exec itself (it execs them), so that $! is theirs.
bgx=(ip netns exec "$ns")
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add tx0 type veth peer name rx0
ip -n "$ns" link set tx0 up
ip -n "$ns" link set rx0 up

PROM=http://127.0.0.1:9090
EXP=127.0.0.1:9571
BAL=127.0.0.1:9572
RULES=$TOP/dist/ringfan.rules.yml
c=40

# query EXPR: the value of a one-series instant query ("" when none).
query() {
	nsx curl -sf "$PROM/api/v1/query" --data-urlencode "query=$1" |
		/usr/bin/python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")'
}
query_is() { [ "$(query "$1")" == "$2" ]; }

# Prometheus first: it applies its scrape targets only after about 5 s.
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
rule_files: ["$RULES"]
scrape_configs:
  - job_name: exporter
    static_configs: [{targets: ["$EXP"]}]
  - job_name: balancer
    static_configs: [{targets: ["$BAL"]}]
EOF
"${bgx[@]}" prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address=127.0.0.1:9090 >"$TMP/prometheus.log" 2>&1 &
bg_pid $!
wait_until 10 nsx curl -sf "$PROM/-/ready" -o /dev/null


"$RINGFAN" gen -o "$TMP/in.pcap" --flows 64 --packets 3000 --seed 40 -q || fail "ringfan gen failed"
sent=3000

# A finished cluster: its balancer is gone, its stats file stays.
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 41 -n 2 2>/dev/null || fail "file replay failed"

start_balancer() {
	"${bgx[@]}" "$RINGFAN" balance -i afpacket:rx0 -c $c -n 2,1 -r "2:pcap:$TMP/q2.$1.pcap" \
		--metrics "$BAL" 2>"$TMP/bal.$1.err" &
	bal=$!
	bg_pid $bal
	wait_until 10 stat_is $c state running
}
start_balancer 1
"${bgx[@]}" "$RINGFAN" exporter --listen "$EXP" 2>"$TMP/exporter.err" &
bg_pid $!
"$RINGFAN" count -i $c@0 -q >/dev/null 2>&1 &
bg_pid $!
"$RINGFAN" count -i $c@1 -q >/dev/null 2>&1 &
victim=$!
bg_pid $victim
consumers_in() { (($(stat_of $c queue.0.consumer_pid) > 0 && $(stat_of $c queue.1.consumer_pid) > 0)); }
wait_until 10 consumers_in

# A first scrape before any traffic, so that increase() below sees it all.
wait_until 10 query_is "ringfan_balancer_up{job=\"exporter\",cluster=\"$c\"}" 1
# Traffic; then the consumer of queue 1 goes; then nothing moves any more.
nsx tcpreplay -q -i tx0 --pps 5000 "$TMP/in.pcap" >/dev/null 2>&1 || fail "tcpreplay failed"
seen() { stat_is $c total.received $sent; }
wait_until 10 seen
kill -9 $victim
wait $victim 2>/dev/null || true
gone() { stat_is $c queue.1.consumer_pid 0; }
wait_until 5 gone
for ep in "$EXP" "$BAL"; do
	nsx curl -sf "http://$ep/metrics" >"$TMP/metrics.txt" || fail "GET http://$ep/metrics failed"
	promtool check metrics <"$TMP/metrics.txt" >"$TMP/lint.out" 2>&1 ||
		fail "promtool check metrics on $ep: $(cat "$TMP/lint.out")"
	info "ok: promtool check metrics on http://$ep/metrics ($(grep -vc '^#' "$TMP/metrics.txt") samples)"
done

# Prometheus has scraped the final counters once both jobs see queue 1's consumer gone.
for job in exporter balancer; do
	wait_until 10 query_is "ringfan_queue_consumer_attached{job=\"$job\",cluster=\"$c\",queue=\"1\"}" 0
done
"$RINGFAN" stats -c $c --json >"$TMP/stats.json"
for job in exporter balancer; do
	out=$(nsx /usr/bin/python3 "$TOP/tests/system/prom_compare.py" $PROM "$job" "$TMP/stats.json" 2>&1) ||
		fail "Prometheus ($job) differs from ringfan stats --json: $out"
	info "ok: $out"
done
check_eq "$(query "ringfan_queue_consumer_attached{job=\"exporter\",cluster=\"$c\",queue=\"0\"}")" 1 \
	"queue 0's consumer seen attached"
check_eq "$(query "ringfan_source_received_packets_total{job=\"exporter\",cluster=\"$c\"}")" $sent \
	"packets received, through Prometheus"

# The finished cluster: down, counters kept.
"$RINGFAN" stats -c 41 --json >"$TMP/stats41.json"
out=$(nsx /usr/bin/python3 "$TOP/tests/system/prom_compare.py" $PROM exporter "$TMP/stats41.json" 2>&1) ||
	fail "Prometheus differs from ringfan stats --json for the finished cluster: $out"
info "ok: $out"
check_eq "$(query 'ringfan_balancer_up{job="exporter",cluster="41"}')" 0 "finished cluster is down"

# Restart: down in between, then a new run whose counters start again.
started1=$(query "ringfan_balancer_start_time_seconds{job=\"exporter\",cluster=\"$c\"}")
check_eq "$(query "sum(resets(ringfan_queue_enqueued_packets_total{job=\"exporter\",cluster=\"$c\"}[5m]))")" 0 \
	"counter resets during the first run"
kill -TERM $bal
wait $bal || fail "balancer exited $? on SIGTERM ($(cat "$TMP/bal.1.err"))"
wait_until 10 query_is "ringfan_balancer_up{job=\"exporter\",cluster=\"$c\"}" 0
info "ok: Prometheus sees the stopped balancer down"
start_balancer 2
nsx tcpreplay -q -i tx0 --pps 5000 --limit 1000 "$TMP/in.pcap" >/dev/null 2>&1 || fail "tcpreplay failed"
seen2() { stat_is $c total.received 1000; }
wait_until 10 seen2
new_run() { local v; v=$(query "ringfan_balancer_start_time_seconds{job=\"exporter\",cluster=\"$c\"}"); [ -n "$v" ] && [ "$v" != "$started1" ]; }
wait_until 10 new_run
wait_until 10 query_is "ringfan_source_received_packets_total{job=\"exporter\",cluster=\"$c\"}" 1000
check_eq "$(query "ringfan_balancer_up{job=\"exporter\",cluster=\"$c\"}")" 1 "restarted balancer up"
# Every queue counter that counted in the first run was reset exactly once: at the restart.
nz=$(query "count(max_over_time(ringfan_queue_enqueued_packets_total{job=\"exporter\",cluster=\"$c\"}[5m]) > 0)")
check_eq "$(query "count(resets(ringfan_queue_enqueued_packets_total{job=\"exporter\",cluster=\"$c\"}[5m]) == 1)")" \
	"$nz" "queue counters reset exactly once across the restart"
check_eq "$(query "resets(ringfan_source_received_packets_total{job=\"exporter\",cluster=\"$c\"}[5m])")" 1 \
	"source counter resets across the restart"
check_eq "$(query "changes(ringfan_balancer_start_time_seconds{job=\"exporter\",cluster=\"$c\"}[5m])")" 1 \
	"start time changes across the restart"
# Prometheus's increase() spans the restart: both runs' packets (extrapolation aside, at least them).
inc=$(query "increase(ringfan_source_received_packets_total{job=\"exporter\",cluster=\"$c\"}[5m])")
/usr/bin/python3 -c "import sys; sys.exit(not float('$inc') >= $sent + 1000 - 1)" ||
	fail "increase() across the restart is $inc, expected at least $((sent + 1000))"
info "ok: increase() across the restart: $inc"
grep -q . "$TMP/exporter.err" && fail "the exporter complained: $(cat "$TMP/exporter.err")"
echo "PASS: Prometheus scrapes what ringfan stats says, across a restart"
