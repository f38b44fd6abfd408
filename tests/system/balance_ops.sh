#!/usr/bin/env bash
# ringfan balance operations: daemon + pid file + log (SIGHUP reopens it;
# -p's counters go there),
# second balancer on the same cluster refused naming the pid, SIGTERM stops
# cleanly (queues finished, final stats, process gone), a balancer killed -9
# does not block the next one, a config file gives the same cluster as the
# command line, and -D USER drops root after setup.
. "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd useradd userdel

pcap=$PCAPS/smtp.pcap
# A source that never ends: the capture replayed in a loop at a gentle rate.
endless=(-i "pcap:$pcap" --loop 0 --rate 2000)

receiving() { local v; v=$(stat_of "$1" source.0.received); [ -n "$v" ] && ((v > 0)); }

# --- daemon, pid file, log file ---
pidf=$TMP/bal.pid
logf=$TMP/bal.log
"$RINGFAN" balance "${endless[@]}" -c 98 -n 2 -d -p -P "$pidf" -l "$logf" ||
	fail "daemon start failed"
pid=$(cat "$pidf")
bg_pid "$pid"
alive "$pid" || fail "pid file names $pid, which is not running"
check_eq "$(stat_of 98 pid)" "$pid" "stats file pid"
check_eq "$(readlink "/proc/$pid/cwd")" / "daemon working directory"
check_eq "$(readlink "/proc/$pid/fd/0")" /dev/null "daemon stdin"
ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$pid/status")
[ "$ppid" != "$$" ] || fail "daemon is still our child"
check_eq "$(cat "$RINGFAN_DIR/98.lock")" "$pid" "pid in the cluster lock"
wait_until 10 receiving 98
grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z ringfan\[$pid\]: cluster 98: " "$logf" ||
	fail "log file lacks the timestamped start line: $(cat "$logf")"
check_eq "$(stat_of 98 state)" running "state while running"
"$RINGFAN" stats -c 98 --json | grep -q '"alive":true' || fail "stats does not see the balancer alive"

# The stats file is rewritten every second.
seq1=$(stat_of 98 seq)
wait_until 5 stat_gt 98 seq "$seq1"

# A daemon has no terminal: -p's block of counters goes to the log file.
wait_until 5 grep -q "^ringfan balance: cluster 98, running, up" "$logf"
info "ok: -p -d writes the counters to the log"

# --- a second balancer on the same cluster is refused, naming the first ---
expect_fail 1 "cluster 98 is already served by pid $pid" \
	"$RINGFAN" balance -i "pcap:$pcap" -c 98 -n 2
alive "$pid" || fail "the first balancer died"

# --- SIGHUP reopens the log ---
mv "$logf" "$logf.1"
kill -HUP "$pid"
wait_until 5 grep -q "log file reopened" "$logf"
wait_until 5 grep -q "^ringfan balance: cluster 98, running, up" "$logf"
info "ok: SIGHUP reopened the log file, and -p writes there"

# --- SIGTERM: clean stop ---
kill -TERM "$pid"
wait_until 10 gone "$pid"
check_eq "$(stat_of 98 state)" stopped "state after SIGTERM"
[ ! -e "$pidf" ] || fail "pid file not removed at exit"
grep -q "cluster 98 stopped: received" "$logf" || fail "no stop line in the log"
"$RINGFAN" stats -c 98 --json | grep -q '"alive":false' || fail "stats says the balancer is alive"
rx=$(stat_of 98 total.received)
sum=$(($(stat_of 98 group.0.enqueued) + $(stat_of 98 group.0.dropped)))
check_eq "$sum" "$rx" "final counters: received = enqueued + dropped"
check_eq "$(stat_of 98 group.0.received)" "$rx" "group received = source received"
# A stop does not finish the queues of a live source: a consumer reads what
# is buffered, then hears that the producer is gone (and would wait for it).
check_eq "$(qfinished 98@1)" 0 "queue 98@1 finished after a stop"
out=$(timeout 20 "$RINGFAN" count -i 98@1 -q --json --exit-on-detach 2>"$TMP/c98.err") ||
	fail "count on a stopped queue did not end with --exit-on-detach"
grep -q "producer of queue 98@1 gone" "$TMP/c98.err" || fail "count did not say the producer is gone"
got=$(grep -o '"packets":[0-9]*' <<<"$out" | tail -1 | cut -d: -f2)
check_eq "$got" "$(stat_of 98 queue.1.enqueued)" "packets read from stopped queue 98@1"

# --- a balancer killed -9 leaves files that do not block the next one ---
"$RINGFAN" balance "${endless[@]}" -c 97 -n 1 2>/dev/null &
p1=$!
bg_pid "$p1"
wait_until 10 receiving 97
kill -9 "$p1"
wait "$p1" 2>/dev/null || true
[ -e "$RINGFAN_DIR/97.lock" ] || fail "expected the dead balancer's lock file to remain"
"$RINGFAN" stats -c 97 | grep -q "^cluster 97: pid $p1, running (balancer gone)" ||
	fail "stats does not say the killed balancer is gone: $("$RINGFAN" stats -c 97 | head -1)"
"$RINGFAN" balance "${endless[@]}" -c 97 -n 1 2>/dev/null &
p2=$!
bg_pid "$p2"
wait_until 10 stat_is 97 pid "$p2"
wait_until 10 receiving 97
kill -TERM "$p2"
wait "$p2" || fail "balancer after a stale lock exited $?"
info "ok: a stale lock from a killed balancer does not block"

# --- config file = command line ---
run_queues() { # cluster -> "enqueued of every queue"
	local c=$1 q out=""
	for q in 0 1 2 3 4; do out+="$(stat_of "$c" "queue.$q.enqueued") "; done
	echo "$out"
}
"$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 10 -n 2,3 -m 5tuple --ring-size 1M 2>/dev/null ||
	fail "command-line run failed"
cat >"$TMP/c.conf" <<EOF
# same cluster as the command line, in a file
interface pcap:$PCAPS/test.pcap

cluster 11
-n 2,3
hash-mode 5tuple
--ring-size 1M
EOF
"$RINGFAN" balance "$TMP/c.conf" 2>/dev/null || fail "config-file run failed"
check_eq "$(stat_of 11 mode)" 5tuple "mode from the config file"
check_eq "$(run_queues 11)" "$(run_queues 10)" "per-queue counts, config file vs command line"
check_eq "$(stat_of 11 total.received)" "$(stat_of 10 total.received)" "received, file vs command line"
# Options after the file add to it.
"$RINGFAN" balance "$TMP/c.conf" -c 12 -m ip 2>/dev/null || fail "config file + options failed"
check_eq "$(stat_of 12 mode)" ip "command line overrides the file"

# --- queue files get the owner, group and mode asked for ---
if getent passwd nobody >/dev/null && getent group nogroup >/dev/null; then
	"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 13 -n 1 --owner nobody --group nogroup \
		--ring-size 64K 2>/dev/null || fail "run with --owner/--group failed"
	check_eq "$(stat -c '%U %G %a' "$RINGFAN_DIR/13@0.ring")" "nobody nogroup 640" \
		"queue file with --owner nobody --group nogroup"
	"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 14 -n 1 --group nogroup --file-mode 0600 \
		--ring-size 64K 2>/dev/null || fail "run with --file-mode failed"
	check_eq "$(stat -c '%G %a' "$RINGFAN_DIR/14@0.ring")" "nogroup 600" "queue file with --file-mode 0600"
fi

# --- -p prints a block of counters ---
out=$("$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 15 -n 2,1 -p 2>/dev/null)
grep -q "^ringfan balance: cluster 15, finished" <<<"$out" || fail "-p: no final block: $out"
grep -q "group B (queues 2-2): received 179, enqueued 179, dropped 0" <<<"$out" || fail "-p: no group line: $out"
grep -qE "pcap:.*test.pcap +179 " <<<"$out" || fail "-p: no source line: $out"
info "ok: -p prints sources, queues, groups and totals"

# --- SIGINT stops like SIGTERM ---
"$RINGFAN" balance "${endless[@]}" -c 16 -n 1 2>/dev/null &
pi=$!
bg_pid "$pi"
wait_until 10 receiving 16
kill -INT "$pi"
wait "$pi" || fail "balancer exited $? on SIGINT"
check_eq "$(stat_of 16 state)" stopped "state after SIGINT"

# --- -D USER drops root after setup ---
user=rft$$
useradd -r -M -s /usr/sbin/nologin "$user" || skip "cannot create a user"
trap 'userdel "$user" 2>/dev/null; cleanup' EXIT
uid=$(id -u "$user")
# A capture only root may open: every replay after the first reads the file
# opened before the drop (small and fast, so that it loops within the test).
install -m 600 "$pcap" "$TMP/root-only.pcap"
"$RINGFAN" balance -i "pcap:$TMP/root-only.pcap" --loop 0 --rate 20000 -c 96 -n 2 -D "$user" \
	2>"$TMP/drop.err" &
pd=$!
bg_pid "$pd"
wait_until 10 receiving 96
check_eq "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pd/status")" \
	"$uid $uid $uid $uid" "uids after -D $user"
gid=$(id -g "$user")
check_eq "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$pd/status")" \
	"$gid $gid $gid $gid" "gids after -D $user"
# Still writes its stats (the directory is root's: rewritten in place).
seq1=$(stat_of 96 seq)
wait_until 5 stat_gt 96 seq "$seq1"
"$RINGFAN" stats -c 96 >/dev/null || fail "stats unreadable after the drop"
loops=$(($(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" count "$pcap") * 3))
wait_until 10 stat_gt 96 total.received "$loops"
info "ok: replayed the root-only capture 3 times after dropping root"
kill -TERM "$pd"
wait "$pd" || fail "balancer with -D exited $?"
check_eq "$(stat_of 96 state)" stopped "final state after -D"
