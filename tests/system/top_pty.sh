#!/usr/bin/env bash
# `ringfan top` full screen, in the pseudo-terminal of a detached tmux
# session of 80x24 (tmux is the terminal; capture-pane reads its screen).
# A live-paced cluster whose queue 1 lost its consumer, and a finished one.
# The screen shows queue 1's consumer gone and its backlog growing, the
# key line at the bottom and nothing past 80 columns; the keys sort (s),
# freeze (f: the backlog stands still), change cluster (c) and quit (q).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/top-helpers.bash"
need_cmd tmux

c=62
"$RINGFAN" gen -o "$TMP/small.pcap" --flows 8 --packets 100 --seed 1 -q || fail "ringfan gen failed"
"$RINGFAN" balance -i "pcap:$TMP/small.pcap" -c 63 -n 1 2>/dev/null || fail "file replay failed"
start_cluster $c

SOCK=$TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup' EXIT
# The pane stays after top exits, with top's exit status in top.rc.
tm new-session -d -x 80 -y 24 \
	"env RINGFAN_DIR=$RINGFAN_DIR $RINGFAN top -c $c --delay 0.3; echo \$? >$TMP/top.rc; sleep 30" ||
	fail "cannot start tmux"
screen() { tm capture-pane -p; }
shows() { screen | grep -qE -- "$1"; }
q1_backlog() { backlog_of "$(screen | queue_line 1)"; }

wait_until 10 shows "^cluster $c \(1 of 2\), running, pid $bal"
wait_until 10 shows "^ +1 A .* gone since [0-9]{2}:[0-9]{2}:[0-9]{2}$"
info "ok: queue 1 on screen: $(screen | queue_line 1)"
b1=$(unhuman "$(q1_backlog)")
grows() { (($(unhuman "$(q1_backlog)") > b1)); }
wait_until 10 grows
info "ok: queue 1's backlog on screen grew from $b1 to $(unhuman "$(q1_backlog)")"
screen >"$TMP/screen.txt"
check_eq "$(wc -l <"$TMP/screen.txt")" 24 "screen lines"
tail -1 "$TMP/screen.txt" | grep -q "q quit  c/C next/prev cluster  s sort  f freeze" ||
	fail "no key line at the bottom: $(tail -1 "$TMP/screen.txt")"
grep -qE "^ +0 A .* ${cons[0]} attached" "$TMP/screen.txt" || fail "queue 0 not attached on screen"
long=$(awk 'length($0) > 80' "$TMP/screen.txt")
[ -z "$long" ] || fail "screen lines wider than 80 columns: $long"

tm send-keys s
wait_until 5 shows ", sorted by pps$"
tm send-keys f
wait_until 5 shows "\[FROZEN\]"
f1=$(q1_backlog)
# Frozen: several refresh periods later the numbers have not moved while the queue filled.
before=$(stat_of $c queue.1.backlog_packets)
wait_until 5 stat_gt $c queue.1.backlog_packets "$((before + 500))"
check_eq "$(q1_backlog)" "$f1" "queue 1's backlog while frozen"
tm send-keys f
wait_until 5 eval '! shows "\[FROZEN\]"'
tm send-keys c
wait_until 5 shows "^cluster 63 \(2 of 2\), finished"
info "ok: keys s, f and c sorted, froze and changed cluster"
tm send-keys q
wait_until 5 test -s "$TMP/top.rc"
check_eq "$(cat "$TMP/top.rc")" 0 "top's exit status after q"
echo "PASS: ringfan top on a terminal shows the gone consumer and its growing backlog"
