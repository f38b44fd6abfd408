#!/usr/bin/env bash
# Permissions against the daemon: `ringfan balance --group G --file-mode 0640
# -D USER` on live-paced traffic. The queue files belong to group G with
# mode 0640 (the ring not writable by the group); a member of G consumes a
# queue with `ringfan count` as that user; another unprivileged user is
# refused with a message naming the queue (status 1); the balancer runs as
# USER after setup (/proc/PID/status Uid/Gid) and keeps delivering. The
# throwaway users and group have unique names and are removed at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault-helpers.bash"
. "$(dirname "$0")/users-helpers.bash"
grp=$GRP
inside=$MEMBER
outside=$STRANGER
daemon=$DAEMON
RINGFAN=$(pub_copy "$RINGFAN")
QSTRESS=$(pub_copy "$QSTRESS")

c=78
n=4
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 200 --packets 20000 --seed 78 -q || fail "ringfan gen failed"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" --loop 0 --rate 4000 -c $c -n $n --ring-size 1M \
	--group "$grp" --file-mode 0640 -D "$daemon" 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 queues_up $c $n
wait_until 10 stat_ge $c total.received 1
info "queue files: $(cd "$RINGFAN_DIR" && stat -c '%n %a %U:%G' "$c"@* | tr '\n' ' ')"
for ((q = 0; q < n; q++)); do
	check_eq "$(stat -c '%G %a' "$RINGFAN_DIR/$c@$q.ring")" "$grp 640" "group and mode of $c@$q's ring"
done

# The balancer dropped root after setup.
uid=$(id -u "$daemon")
gid=$(id -g "$daemon")
uid_is() { [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$1/status")" == "$2" ]; }
wait_until 5 uid_is $bal "$uid"
check_eq "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$bal/status")" \
	"$uid $uid $uid $uid" "balancer uids after -D $daemon"
check_eq "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$bal/status")" \
	"$gid $gid $gid $gid" "balancer gids after -D $daemon"
check_eq "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$bal/status")" 0000000000000000 \
	"balancer effective capabilities"

# Outsider: refused, the message names the queue.
expect_fail 1 "$c@1.*[Pp]ermission denied" as "$outside" "$RINGFAN" count -i "$c@1" -N 10
# Member: consumes (as many packets as asked), while the balancer runs unprivileged.
for q in 0 1; do
	as "$inside" "$RINGFAN" count -i "$c@$q" -N 2000 --json >"$TMP/in.$q.json" 2>"$TMP/in.$q.err" ||
		fail "group member could not consume $c@$q: $(cat "$TMP/in.$q.err")"
	DELIVERED[$q]=$(json_last "$TMP/in.$q.json" packets)
	check_eq "${DELIVERED[$q]}" 2000 "packets the group member read from $c@$q"
	check_eq "$(json_last "$TMP/in.$q.json" dropped)" 0 "drops the group member saw on $c@$q"
done
# The member may not write to the packet data: its ring does not open read-write.
as "$inside" "$QSTRESS" poke-file "$RINGFAN_DIR/$c@0.ring" >"$TMP/pokefile" 2>&1 || true
check_eq "$(sed -n 's/^open_rdwr=//p' "$TMP/pokefile")" "Permission denied" \
	"group member opening $c@0's ring read-write"
alive $bal || fail "the unprivileged balancer died: $(cat "$TMP/bal.err")"
seq1=$(stat_of $c seq)
wait_until 5 stat_ge $c seq $((seq1 + 1))
kill -TERM $bal
wait_ok $bal "the unprivileged balancer (SIGTERM)"
print_figures $c $n
check_eq "$(stat_of $c state)" stopped "final state"
check_invariant $c
echo "PASS: group members consume, others are refused by name, the balancer runs without root"
