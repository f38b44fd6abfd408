#!/usr/bin/env bash
# Paced replay (--speed) of captures whose time goes backwards: a packet
# older than the one before it is due at once and the pace continues from
# it. The replay ends (it used to wait for ever), every packet is replayed,
# the gaps after the backward jump are kept, and with --loop every play is
# later than the one before it. --rate keeps its pace across plays.
. "$(dirname "$0")/lib.sh"
need_cmd editcap mergecap tshark capinfos

pcap_count() { capinfos -c -M "$1" 2>/dev/null | awk '/^Number of packets/ { print $NF }'; }
MS=
replay() { # cluster capture options...: run a replay; MS = its duration
	local c=$1 f=$2 s e rc=0
	shift 2
	s=$(date +%s%N)
	timeout 20 "$RINGFAN" balance -i "pcap:$f" -c "$c" -n 2 "$@" 2>"$TMP/bal.$c.err" || rc=$?
	e=$(date +%s%N)
	((rc != 124)) || fail "replay of $(basename "$f") $* did not end in 20 s"
	((rc == 0)) || fail "replay of $(basename "$f") $* exited $rc: $(cat "$TMP/bal.$c.err")"
	MS=$(((e - s) / 1000000))
}

# 20 packets over 19 ms, then 200 packets over 995 ms that were recorded an hour earlier.
"$RINGFAN" gen -q -o "$TMP/a.pcap" --packets 20 --flows 4 --rate 1000 --seed 1 || fail "gen failed"
"$RINGFAN" gen -q -o "$TMP/b.pcap" --packets 200 --flows 20 --rate 200 --seed 2 || fail "gen failed"
editcap -t -3600 "$TMP/b.pcap" "$TMP/b-early.pcap" || fail "editcap failed"
mergecap -a -w "$TMP/back.pcap" "$TMP/a.pcap" "$TMP/b-early.pcap" || fail "mergecap failed"
check_eq "$(pcap_count "$TMP/back.pcap")" 220 "packets in the capture with a backward jump"

# At --speed 2 about (19 + 995) / 2 = 507 ms: the part after the jump is paced too.
replay 1 "$TMP/back.pcap" --speed 2
check_eq "$(stat_of 1 total.received)" 220 "packets replayed across the backward jump"
((MS >= 400 && MS < 5000)) || fail "--speed 2 took $MS ms (expected about 507)"
info "ok: --speed 2 across an hour backwards took $MS ms (expected about 507)"

# --loop: the second play comes after the first one, never before it.
replay 2 "$TMP/back.pcap" --speed 4 --loop 2 -r "0:pcap:$TMP/q0.pcap" -r "1:pcap:$TMP/q1.pcap"
check_eq "$(stat_of 2 total.received)" 440 "packets replayed in two plays"
((MS >= 400 && MS < 5000)) || fail "--speed 4 --loop 2 took $MS ms (expected about 507)"
mergecap -w "$TMP/out.pcap" "$TMP/q0.pcap" "$TMP/q1.pcap" || fail "mergecap failed"
# Sorted by time, the first 220 packets are the first play (frames 1..220 of the file).
tshark -r "$TMP/out.pcap" -T fields -e frame.time_epoch >"$TMP/times" 2>/dev/null
check_eq "$(wc -l <"$TMP/times")" 440 "packets written by the egresses"
tshark -r "$TMP/back.pcap" -T fields -e frame.time_epoch 2>/dev/null | sort -n >"$TMP/play1"
first_play=$(head -220 "$TMP/times" | sort -n | cmp -s - "$TMP/play1" && echo yes || echo no)
check_eq "$first_play" yes "the 220 earliest output packets are the first play, unchanged"
info "ok: --loop 2 took $MS ms; the second play is later than the first"

# --rate paces by count over every play: no pause between plays (a new play
# once took as long again as everything before it).
replay 5 "$TMP/b.pcap" --rate 1000 --loop 5
check_eq "$(stat_of 5 total.received)" 1000 "packets replayed in five plays at --rate 1000"
((MS >= 800 && MS < 2200)) || fail "--rate 1000 --loop 5 (1000 packets) took $MS ms (expected about 1000)"
info "ok: --rate 1000 --loop 5 took $MS ms"

# Real captures that go back in time (a few microseconds; years).
if [ -d "$PCAPS" ]; then
	replay 3 "$PCAPS/ipv6-http-atomic-frag.pcap" --speed 4
	check_eq "$(stat_of 3 total.received)" 38 "packets of ipv6-http-atomic-frag.pcap at --speed 4"
	((MS >= 350 && MS < 5000)) || fail "a 1.87 s capture at --speed 4 took $MS ms"
	# 918 packets, 1.57e8 s of forward gaps: about 1.6 s at --speed 1e8.
	replay 4 "$PCAPS/arkime_synthetic.pcap" --speed 1e8
	check_eq "$(stat_of 4 total.received)" 918 "packets of arkime_synthetic.pcap at --speed 1e8"
	((MS >= 1200 && MS < 8000)) || fail "arkime_synthetic.pcap at --speed 1e8 took $MS ms"
	info "ok: real captures with backward time replayed at their pace"
else
	info "captures folder $PCAPS is absent: real captures not replayed"
fi
echo "PASS: paced replay goes on when time goes backwards"
