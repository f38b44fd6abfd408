# Helpers for the `ringfan top` tests (sourced after lib.sh): a live-paced
# cluster whose queue 1 lost its consumer, and reading top's table.


# start_cluster C: `ringfan balance` replaying a generated capture at 2000
# packets/s forever into -n 2,1 (pid in bal); `ringfan count` on queues 0
# and 2 (pids cons[0], cons[2]); queue 1's consumer attached, then killed -9.
bal=
declare -a cons
start_cluster() {
	local c=$1 q
	"$RINGFAN" gen -o "$TMP/in$c.pcap" --flows 64 --packets 2000 --seed "$c" -q ||
		fail "ringfan gen failed"
	"$RINGFAN" balance -i "pcap:$TMP/in$c.pcap" -c "$c" -n 2,1 --rate 2000 --loop 0 \
		2>"$TMP/bal$c.err" &
	bal=$!
	bg_pid $bal
	wait_until 10 stat_is "$c" state running
	for q in 0 1 2; do
		"$RINGFAN" count -i "$c@$q" -q >/dev/null 2>&1 &
		cons[$q]=$!
		bg_pid $!
	done
	wait_until 10 stat_gt "$c" queue.1.consumer_pid 0
	kill -9 "${cons[1]}"
	wait "${cons[1]}" 2>/dev/null || true
	wait_until 10 stat_is "$c" queue.1.consumer_pid 0
	wait_until 10 stat_gt "$c" queue.0.consumer_pid 0
	wait_until 10 stat_gt "$c" queue.2.consumer_pid 0
}

# A human number of top's table ("950", "1.2k", "35k", "1.1M") as an integer.
unhuman() {
	awk -v v="$1" 'BEGIN { m = 1; u = substr(v, length(v));
		if (u == "k") m = 1e3; else if (u == "M") m = 1e6; else if (u == "G") m = 1e9;
		if (m > 1) v = substr(v, 1, length(v) - 1); printf "%d\n", v * m }'
}

# queue_line Q < table: top's line of queue Q (first match).
queue_line() { awk -v q="$1" '$1 == q && $2 ~ /^[A-Z]$/ { print; exit }'; }
# backlog_of LINE: the BACKLOG column of a queue line (the field after the "NN%" fill).
backlog_of() { awk '{ for (i = 1; i < NF; i++) if ($i ~ /^[0-9]+%$/) { print $(i + 1); exit } }' <<<"$1"; }
