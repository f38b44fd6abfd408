#!/usr/bin/env bash
# The stats file (DIR/CLUSTER.stats: capture file names, counters) follows
# the queue files: their group, and the read bits of their mode, never a
# write bit for others. By default (0600) only the balancer's user reads it;
# with --group G --file-mode 0640 members of G do (`ringfan stats`), others are
# refused. Also while the balancer runs, after -D, and when an older
# world-readable stats file is in the directory. Throwaway users and a group
# with unique names are created and removed.
. "$(dirname "$0")/lib.sh"
need_cmd stat
. "$(dirname "$0")/users-helpers.bash"
grp=$GRP
inside=$MEMBER
outside=$STRANGER
daemon=$DAEMON
RINGFAN=$(pub_copy "$RINGFAN")

"$RINGFAN" gen -q -o "$TMP/in.pcap" --packets 2000 --flows 50 --seed 5 || fail "ringfan gen failed"
chmod 0644 "$TMP/in.pcap"
perms() { stat -c '%a %U:%G' "$RINGFAN_DIR/$1.stats"; }
perms_are() { [ "$(perms "$1")" == "$2" ]; }
replay() { # cluster options...
	local c=$1
	shift
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c "$c" -n 2 "$@" 2>"$TMP/bal.err" ||
		fail "ringfan balance $* failed: $(cat "$TMP/bal.err")"
}

# Default: queues 0600, stats 0600; another user cannot read the counters.
replay 40
check_eq "$(perms 40)" "600 root:root" "stats file of a default cluster"
expect_fail 1 "40.stats.*Permission denied" as "$outside" "$RINGFAN" stats -c 40

# --group G --file-mode 0640: members of G read the counters, others do not.
replay 41 --group "$grp" --file-mode 0640
check_eq "$(perms 41)" "640 root:$grp" "stats file with --group --file-mode 0640"
as "$inside" "$RINGFAN" stats -c 41 >"$TMP/stats41" 2>&1 ||
	fail "a member of $grp could not read the counters: $(cat "$TMP/stats41")"
grep -q "finished" "$TMP/stats41" || fail "ringfan stats as a member of $grp: $(cat "$TMP/stats41")"
expect_fail 1 "41.stats.*Permission denied" as "$outside" "$RINGFAN" stats -c 41

# Queues every user may read: so may the counters (written by the balancer only).
replay 42 --file-mode 0644
check_eq "$(perms 42)" "644 root:root" "stats file with --file-mode 0644"

# An older, world-readable stats file of the cluster gets the cluster's permissions.
echo "ringfan-stats: 1" >"$RINGFAN_DIR/43.stats"
chmod 0666 "$RINGFAN_DIR/43.stats"
replay 43
check_eq "$(perms 43)" "600 root:root" "stats file that was 0666 before the start"

# While running, rewritten every second, and after -D (rewritten in place).
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 44 -n 2 --rate 1000 --group "$grp" --file-mode 0640 \
	-D "$daemon" 2>"$TMP/bal44.err" &
b=$!
bg_pid $b
seq_ge() { local v; v=$(stat_of 44 seq); [ -n "$v" ] && ((v >= $1)); }
wait_until 10 seq_ge 1
seq=$(stat_of 44 seq)
wait_until 10 seq_ge $((seq + 2))
check_eq "$(perms 44)" "640 root:$grp" "stats file of a running balancer after -D"
expect_fail 1 "44.stats.*Permission denied" as "$outside" "$RINGFAN" stats -c 44
wait $b || fail "balancer exited $?: $(cat "$TMP/bal44.err")"
check_eq "$(stat_of 44 state)" finished "state written after -D"
check_eq "$(perms 44)" "640 root:$grp" "stats file after the balancer exited"
echo "PASS: the stats file has the queues' group and read permissions"
