#!/usr/bin/env bash
# ringfan gen: what tshark reads in the files agrees with what was asked for
# and with the summary line; files are deterministic; write errors and bad
# options are reported.
. "$(dirname "$0")/lib.sh"
need_cmd tshark sha256sum awk

trap 'umount "$TMP/full" 2>/dev/null || true; cleanup' EXIT

# ICMP and ICMPv6 checksums are always checked.
CHECKS=(-o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE)

gen() { # out summary-file args...
	local out=$1 sum=$2
	shift 2
	"$RINGFAN" gen -o "$out" "$@" 2>"$sum" || fail "gen $* exited $?: $(cat "$sum")"
	grep -q '^ringfan gen: .*packets=' "$sum" || fail "no summary line for gen $*"
}

# Value of key=N in a summary line.
val() { grep -oE "(^| )$1=[0-9]+" "$2" | head -1 | cut -d= -f2; }

# tshark, failing the test (on stderr: it often runs inside a pipeline) when it fails.
tsh() {
	tshark "$@" 2>"$TMP/tshark.err" || {
		echo "FAIL: tshark $* failed: $(grep -v 'Running as user' "$TMP/tshark.err")" >&2
		exit 1
	}
}

# Per flow (innermost address pair) in a noise-free file: both directions
# seen, and its encapsulation counted from the first packet's layers.
# Prints "flows=N oneway=N vlan=N qinq=N mpls=N gre=N vxlan=N geneve=N gtpu=N ipip=N ipv6=N".
flow_report() {
	tsh -r "$1" -T fields -e frame.protocols -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst |
		awk -F'\t' '
		function last(s, a, n) { n = split(s, a, ","); return a[n] }
		{
			n = split($1, t, ":"); inner = ""; ipip = 0
			for (i = n; i >= 1; i--)
				if (t[i] == "ip" || t[i] == "ipv6") { inner = t[i]; break }
			if (inner == "") { print "no IP in " $1 > "/dev/stderr"; bad++; next }
			for (i = 1; i < n; i++)
				if ((t[i] == "ip" || t[i] == "ipv6") && (t[i + 1] == "ip" || t[i + 1] == "ipv6"))
					ipip = 1
			if (inner == "ip") { s = last($2); d = last($3) } else { s = last($4); d = last($5) }
			k = s < d ? s "|" d : d "|" s
			if (s < d) fwd[k] = 1; else rev[k] = 1
			if (k in stack) next
			stack[k] = $1
			p = ":" $1 ":"
			if (p ~ /:ieee8021ad:/) c["qinq"]++; else if (p ~ /:vlan:/) c["vlan"]++
			if (p ~ /:mpls:/) c["mpls"]++
			if (p ~ /:gre:/) c["gre"]++
			if (p ~ /:vxlan:/) c["vxlan"]++
			if (p ~ /:geneve:/) c["geneve"]++
			if (p ~ /:gtp:/) c["gtpu"]++
			if (ipip) c["ipip"]++
			if (inner == "ipv6") c["ipv6"]++
		}
		END {
			for (k in stack) { flows++; if (!fwd[k] || !rev[k]) oneway++ }
			printf "flows=%d oneway=%d noip=%d", flows, oneway, bad
			split("vlan qinq mpls gre vxlan geneve gtpu ipip ipv6", f, " ")
			for (i = 1; i <= 9; i++) printf " %s=%d", f[i], c[f[i]]
			printf "\n"
		}'
}

# Share in percent of count among total, compared to want within tol points.
check_share() { # what count total want tol
	awk -v c="$2" -v t="$3" -v w="$4" -v tol="$5" 'BEGIN {
		s = 100 * c / t; exit !(s >= w - tol && s <= w + tol) }' ||
		fail "$1: $2 of $3 is not about $4%"
	info "ok: $1: $2 of $3 (asked $4%)"
}

# ---- layers and shares, both directions, checksums ----
f=$TMP/mix.pcap
gen "$f" "$TMP/mix.sum" --flows 400 --packets 8000 --seed 3 --size imix \
	--vlan 20 --qinq 10 --mpls 15 --gre 12 --vxlan 12 --geneve 8 --gtpu 12 --ipip 10 --ipv6 30
rep=$(flow_report "$f")
info "tshark: $rep"
info "summary: $(cat "$TMP/mix.sum")"
check_eq "$(grep -o 'flows=[0-9]*' <<<"$rep")" "flows=400" "flows seen by tshark"
check_eq "$(grep -o 'oneway=[0-9]*' <<<"$rep")" "oneway=0" "flows seen in one direction only"
check_eq "$(grep -o 'noip=[0-9]*' <<<"$rep")" "noip=0" "packets without an IP header"
check_eq "$(val packets "$TMP/mix.sum")" 8000 "packets in the summary"
check_eq "$(tsh -r "$f" -T fields -e frame.number | wc -l)" 8000 "packets in the file"
for k in vlan qinq mpls gre vxlan geneve gtpu ipip ipv6; do
	check_eq "$(grep -o " $k=[0-9]*" <<<" $rep" | cut -d= -f2)" "$(val $k "$TMP/mix.sum")" \
		"$k flows in the file vs the summary"
done
check_share vlan "$(val vlan "$TMP/mix.sum")" 400 20 8
check_share qinq "$(val qinq "$TMP/mix.sum")" 400 10 6
check_share mpls "$(val mpls "$TMP/mix.sum")" 400 15 7
check_share gre "$(val gre "$TMP/mix.sum")" 400 12 7
check_share vxlan "$(val vxlan "$TMP/mix.sum")" 400 12 7
check_share geneve "$(val geneve "$TMP/mix.sum")" 400 8 6
check_share gtpu "$(val gtpu "$TMP/mix.sum")" 400 12 7
check_share ipip "$(val ipip "$TMP/mix.sum")" 400 10 6
check_share ipv6 "$(val ipv6 "$TMP/mix.sum")" 400 30 8
check_share tcp "$(val tcp "$TMP/mix.sum")" 400 75 8
bad=$(tsh -r "$f" "${CHECKS[@]}" -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 ||
	udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 ||
	_ws.malformed || _ws.expert.severity >= error' -T fields -e frame.number | wc -l)
check_eq "$bad" 0 "packets with a bad checksum or an error per tshark"
good=$(tsh -r "$f" "${CHECKS[@]}" -Y 'tcp.checksum.status == 1 || udp.checksum.status == 1' \
	-T fields -e frame.number | wc -l)
((good > 7000)) || fail "only $good packets with a verified TCP/UDP checksum"
info "ok: $good packets with verified transport checksums"
# TCP conversations open and close.
syn=$(tsh -r "$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e frame.number | wc -l)
synack=$(tsh -r "$f" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1' -T fields -e frame.number | wc -l)
check_eq "$syn" "$(val tcp "$TMP/mix.sum")" "SYNs (one per TCP flow)"
check_eq "$synack" "$(val tcp "$TMP/mix.sum")" "SYN-ACKs (one per TCP flow)"

# ---- PPPoE, FabricPath, CAPWAP, ARP ----
f=$TMP/encap.pcap
gen "$f" "$TMP/encap.sum" --flows 200 --packets 3000 --seed 11 --size imix --ipv6 20 --frag 20 \
	--pppoe 25 --fabricpath 25 --capwap 40 --arp 60
info "summary: $(cat "$TMP/encap.sum")"
# Per flow (innermost address pair; an ARP packet's protocol addresses), from tshark.
tsh -r "$f" -o cfp.check_fcs:TRUE -T fields -E occurrence=a -E aggregator=, -e frame.protocols \
	-e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e arp.opcode -e arp.src.proto_ipv4 \
	-e arp.dst.proto_ipv4 -e eth.dst -e wlan.da -e pppoe.payload_length -e ip.len -e ipv6.plen \
	-e cfp.fcs.status | awk -F'\t' '
	function last(s, a, n) { n = split(s, a, ","); return a[n] }
	function first(s, a) { split(s, a, ","); return a[1] }
	{
		rows++
		p = ":" $1 ":"
		if (p ~ /:arp:/) {
			s = $7; d = $8; k = s < d ? s "|" d : d "|" s
			bcast = (p ~ /:wlan:/ ? last($10) : last($9)) == "ff:ff:ff:ff:ff:ff"
			if ($6 == 1) { req[k]++; if (!bcast) notbcast++ } else rep[k]++
			next
		}
		n = split($1, t, ":")
		for (i = n; i >= 1; i--) if (t[i] == "ip" || t[i] == "ipv6") break
		if (t[i] == "ip") { s = last($2); d = last($3) } else { s = last($4); d = last($5) }
		k = s < d ? s "|" d : d "|" s
		flow[k] = 1
		if (p ~ /:pppoes:/) {
			# PPP protocol field: the PPPoE payload minus the IP packet after it
			ppp = first($11) - (p ~ /:pppoes:ppp:ip:/ ? first($12) : first($13) + 40)
			pfc[k] = pfc[k] ? (pfc[k] == ppp ? ppp : -1) : ppp
		}
		if (p ~ /^:eth:cfp:/) { fp[k]++; fpk++; if ($14 != 1) badfcs++ } else plain[k]++
		if (p ~ /:capwap.data:/) { if (p ~ /:wlan:/) w11[k] = 1; else w3[k] = 1 }
	}
	END {
		for (k in flow) {
			flows++
			if (k in pfc) { pppoe++; if (pfc[k] == 1) pfc1++; else if (pfc[k] == 2) pfc2++ }
			if (k in fp) { fabricpath++; if (plain[k]) fpboth++; fpp += fp[k] + plain[k] }
			if (k in w11 || k in w3) capwap++
			if (k in w11) cw11++
			if (k in w3) cw3++
			if (k in w11 && k in w3) cwboth++
		}
		for (k in req) { arp++; if (req[k] != 1 || rep[k] != 1 || !(k in flow)) arpbad++ }
		for (k in rep) if (!(k in req)) arpbad++
		printf "packets=%d flows=%d pppoe=%d pfc1=%d pfc2=%d fabricpath=%d fpboth=%d",
			rows, flows, pppoe, pfc1, pfc2, fabricpath, fpboth
		printf " fppkts=%d fpall=%d", fpk, fpp
		printf " badfcs=%d capwap=%d cw11=%d cw3=%d cwboth=%d arp=%d arpbad=%d notbcast=%d\n",
			badfcs, capwap, cw11, cw3, cwboth, arp, arpbad, notbcast
	}' >"$TMP/encap.rep"
rep=$(cat "$TMP/encap.rep")
info "tshark: $rep"
check_eq "$(val flows "$TMP/encap.rep")" 200 "flows seen by tshark"
for k in pppoe fabricpath capwap arp; do
	check_eq "$(val $k "$TMP/encap.rep")" "$(val $k "$TMP/encap.sum")" \
		"$k flows in the file vs the summary"
done
check_share pppoe "$(val pppoe "$TMP/encap.sum")" 200 25 9
check_share fabricpath "$(val fabricpath "$TMP/encap.sum")" 200 25 9
check_share capwap "$(val capwap "$TMP/encap.sum")" 200 40 10
check_eq $(($(val pfc1 "$TMP/encap.rep") + $(val pfc2 "$TMP/encap.rep"))) \
	"$(val pppoe "$TMP/encap.rep")" "PPPoE flows with one PPP protocol field size throughout"
check_share "PPPoE flows with a 1-byte protocol field" "$(val pfc1 "$TMP/encap.rep")" \
	"$(val pppoe "$TMP/encap.rep")" 50 20
check_eq "$(val fpboth "$TMP/encap.rep")" "$(val fabricpath "$TMP/encap.rep")" \
	"FabricPath flows seen both through the core and plain"
check_share "FabricPath flows' packets through the core" "$(val fppkts "$TMP/encap.rep")" \
	"$(val fpall "$TMP/encap.rep")" 50 8
check_eq "$(val badfcs "$TMP/encap.rep")" 0 "FabricPath frames without a good FCS"
check_eq "$(val cwboth "$TMP/encap.rep")" 0 "CAPWAP flows with both 802.3 and 802.11 frames"
(($(val cw11 "$TMP/encap.rep") > 0 && $(val cw3 "$TMP/encap.rep") > 0)) ||
	fail "expected CAPWAP flows with 802.3 and with 802.11 frames: $rep"
check_eq "$(val arpbad "$TMP/encap.rep")" 0 "ARP exchanges not one request and one reply of a flow"
check_eq "$(val notbcast "$TMP/encap.rep")" 0 "ARP requests not sent to broadcast"
((arp = $(val arp "$TMP/encap.sum"), arp > 30)) || fail "only $arp ARP exchanges"
check_eq "$(val packets "$TMP/encap.rep")" 3000 "packets in the file"
bad=$(tsh -r "$f" "${CHECKS[@]}" -Y 'ip.checksum.status == 0 || tcp.checksum.status == 0 ||
	udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 ||
	_ws.malformed || _ws.expert.severity >= error' -T fields -e frame.number | wc -l)
check_eq "$bad" 0 "packets with a bad checksum or an error per tshark"

# ---- fragments ----
f=$TMP/frag.pcap
gen "$f" "$TMP/frag.sum" --flows 60 --packets 3000 --seed 5 --frag 60 --frag-ooo 50 --ipv6 40 \
	--vlan 30 --size imix
info "summary: $(cat "$TMP/frag.sum")"
tsh -2 -r "$f" "${CHECKS[@]}" -T fields -E occurrence=l -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
	-e ip.id -e ipv6.fraghdr.ident -e ip.flags.mf -e ip.frag_offset -e ipv6.fraghdr.nxt \
	-e ipv6.fraghdr.offset -e ip.reassembled_in -e ipv6.reassembled.in -e ip.reassembled.length \
	-e ipv6.reassembled.length -e tcp.checksum.status -e udp.checksum.status -e ip.len \
	-e ipv6.plen >"$TMP/frag.txt"
awk -F'\t' '
	{
		s = $1 $3; d = $2 $4; v6 = ($9 != "")
		frag = v6 || $7 == "1" || ($8 != "" && $8 != "0")
		k = s < d ? s "|" d : d "|" s
		if (!frag) { whole[k, s < d]++; next }
		nfrag++; if (!(k in fk)) nflows++; fk[k] = 1
		if (v6) n6++; else n4++
		id = s ">" d "#" (v6 ? $6 : $5)
		off = v6 ? $10 : $8
		if (!(id in seen)) { seen[id] = 1; ids++; if (off + 0 > 0) ooo++ }
		if ((v6 ? $18 + 40 : $17) > 1500) toobig++
		if ($11 $12 != "") tied++
		if ($13 $14 != "") { done++; if ($15 $16 !~ /1/) badsum++ }
	}
	END {
		for (k in fk) if (!whole[k, 0] || !whole[k, 1]) nowhole++
		printf "fragments=%d v4=%d v6=%d datagrams=%d ooo=%d tied=%d reassembled=%d badsum=%d nowhole=%d flows=%d toobig=%d\n",
			nfrag, n4, n6, ids, ooo, tied, done, badsum, nowhole, nflows, toobig
	}' "$TMP/frag.txt" >"$TMP/frag.rep"
rep=$(cat "$TMP/frag.rep")
info "tshark: $rep"
n=$(val fragments "$TMP/frag.sum")
dg=$(val frag_datagrams "$TMP/frag.sum")
((n > 100 && dg > 40)) || fail "too few fragments ($n in $dg datagrams)"
check_eq "$(val fragments "$TMP/frag.rep")" "$n" "fragment packets per tshark vs summary"
check_eq "$(val datagrams "$TMP/frag.rep")" "$dg" "distinct (source, destination, id) = datagrams"
check_eq "$(val reassembled "$TMP/frag.rep")" "$dg" "datagrams reassembled by tshark"
check_eq "$(($(val tied "$TMP/frag.rep") + dg))" "$n" "fragments tied to a reassembly"
check_eq "$(val badsum "$TMP/frag.rep")" 0 "reassembled datagrams without a good checksum"
check_eq "$(val ooo "$TMP/frag.rep")" "$(val frag_ooo "$TMP/frag.sum")" "datagrams starting with a later fragment"
check_share "out-of-order datagrams" "$(val frag_ooo "$TMP/frag.sum")" "$dg" 50 15
check_eq "$(val toobig "$TMP/frag.rep")" 0 "fragments larger than 1500 bytes of IP"
check_eq "$(val nowhole "$TMP/frag.rep")" 0 "fragmenting flows without whole packets both ways"
n4=$(val v4 "$TMP/frag.rep")
n6=$(val v6 "$TMP/frag.rep")
((n4 > 0 && n6 > 0)) || fail "expected IPv4 and IPv6 fragments: $rep"

# ---- truncated, malformed, snaplen ----
f=$TMP/noise.pcap
gen "$f" "$TMP/noise.sum" --flows 40 --packets 4000 --seed 9 --truncated 5 --malformed 5 --all
info "summary: $(cat "$TMP/noise.sum")"
check_eq "$(val truncated "$TMP/noise.sum")" 200 "truncated packets in the summary"
check_eq "$(val malformed "$TMP/noise.sum")" 200 "malformed packets in the summary"
short=$(tsh -r "$f" -Y 'frame.cap_len < frame.len' -T fields -e frame.number | wc -l)
check_eq "$short" 200 "packets with caplen < len"
short=$(tsh -r "$f" -Y 'frame.cap_len < frame.len && eth.src == 02:00:ee:00:00:01' -T fields \
	-e frame.number | wc -l)
check_eq "$short" 200 "truncated packets marked with source MAC 02:00:ee:00:00:01"
marked=$(tsh -r "$f" -Y 'eth.src == 02:00:ee:00:00:02' -T fields -e frame.number | wc -l)
check_eq "$marked" 200 "packets marked malformed (source MAC 02:00:ee:00:00:02)"
flagged() { # display filter of the packets to look at
	tsh -r "$f" "${CHECKS[@]}" -Y "($1) && (ip.checksum.status == 0 || tcp.checksum.status == 0 ||
		udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 ||
		_ws.malformed || _ws.expert.severity >= error)" -T fields -e frame.number | wc -l
}
check_eq "$(flagged 'eth.src[0:3] != 02:00:ee')" 0 "flow packets flagged by tshark"
bad=$(flagged 'eth.src == 02:00:ee:00:00:02')
((bad > 100)) || fail "only $bad of the 200 malformed packets flagged by tshark"
info "ok: $bad of the 200 malformed packets flagged by tshark"
# The noise stays inside the flows' address set (what tshark can still read of it).
tsh -r "$f" -T fields -E occurrence=f -e eth.src -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst |
	awk -F'\t' '$1 !~ /^02:00:ee/ { for (i = 2; i <= 5; i++) flow[$i] = 1; next }
		{ for (i = 2; i <= 5; i++) if ($i != "") noise[$i] = 1; n++ }
		END {
			for (a in noise) if (!(a in flow)) { print "noise outside the flows: " a; bad = 1 }
			exit bad || !n
		}' || fail "noise packets with addresses of no flow"
info "ok: noise packets use the flows' outer addresses"
f=$TMP/snap.pcap
gen "$f" "$TMP/snap.sum" --flows 10 --packets 500 --size 200-1500 --snaplen 100
check_eq "$(tsh -r "$f" -T fields -e frame.cap_len | sort -n | tail -1)" 100 "largest caplen with --snaplen 100"
maxlen=$(tsh -r "$f" -T fields -e frame.len | sort -n | tail -1)
((maxlen > 1000)) || fail "--snaplen changed wire lengths (largest $maxlen)"

# ---- sizes and timestamps ----
f=$TMP/s64.pcap
gen "$f" "$TMP/s64.sum" --flows 20 --packets 1000 --size 64 --rate 1000
lens=$(tsh -r "$f" -T fields -e frame.len | sort -un | tr '\n' ' ')
check_eq "$lens" "60 62 64 " "frame lengths with --size 64 (control packets 60/62)"
span=$(tsh -r "$f" -T fields -e frame.time_epoch | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.6f", b - a }')
check_eq "$span" "0.999000" "time from first to last of 1000 packets at --rate 1000"
f=$TMP/imix.pcap
gen "$f" "$TMP/imix.sum" --flows 20 --packets 3000 --size imix
tsh -r "$f" -T fields -e frame.len | sort -n | uniq -c | awk '{ c[$2] = $1 } END {
	exit !(c[64] > c[594] && c[594] > c[1518] && c[1518] > 100) }' ||
	fail "imix: expected many 64 > 594 > 1518-byte frames"
info "ok: imix lengths"
f=$TMP/range.pcap
gen "$f" "$TMP/range.sum" --flows 20 --packets 2000 --size 300-400
tsh -r "$f" -T fields -e frame.len | sort -n | uniq -c | awk '$2 >= 300 { n++; if ($2 > 400) big++ }
	END { exit !(n > 50 && !big) }' || fail "--size 300-400: lengths outside or too few distinct"
info "ok: --size 300-400"

# ---- determinism ----
"$RINGFAN" gen -q -o "$TMP/d1.pcap" --all --flows 50 --packets 5000 --seed 7
"$RINGFAN" gen -q -o "$TMP/d2.pcap" --seed 7 --packets 5000 --all --flows 50
"$RINGFAN" gen -q -o - --all --flows 50 --packets 5000 --seed 7 >"$TMP/d3.pcap"
"$RINGFAN" gen -q -o "$TMP/d4.pcap" --all --flows 50 --packets 5000 --seed 8
h1=$(sha256sum <"$TMP/d1.pcap")
check_eq "$(sha256sum <"$TMP/d2.pcap")" "$h1" "sha256 of a second run with the same seed"
check_eq "$(sha256sum <"$TMP/d3.pcap")" "$h1" "sha256 of the same run written to standard output"
[ "$(sha256sum <"$TMP/d4.pcap")" != "$h1" ] || fail "seed 8 gave the same file as seed 7"
info "ok: another seed, another file"

# ---- write errors ----
expect_fail 1 "cannot write to standard output: No space left on device" \
	bash -c "'$RINGFAN' gen -o - --packets 100000 --size 1500 >/dev/full"
expect_fail 1 "cannot write '/dev/full': No space left on device \(output is incomplete\)" \
	"$RINGFAN" gen -o /dev/full --packets 100000 --size 1500
[ -c /dev/full ] || fail "a failed write removed /dev/full"
if ((EUID == 0)) && mkdir -p "$TMP/full" && mount -t tmpfs -o size=1m tmpfs "$TMP/full"; then
	expect_fail 1 "cannot write '$TMP/full/x.pcap': No space left on device \(partial file removed\)" \
		"$RINGFAN" gen -o "$TMP/full/x.pcap" --packets 100000 --size 1500
	[ ! -e "$TMP/full/x.pcap" ] || fail "partial file left behind"
	umount "$TMP/full"
else
	info "not root or no tmpfs: full-disk check done on /dev/full only"
fi
expect_fail 1 "cannot open '$TMP/nodir/x.pcap': No such file or directory" \
	"$RINGFAN" gen -o "$TMP/nodir/x.pcap"

# ---- an interrupted run ----
# A file is written under a temporary name and renamed when complete: a run
# stopped by Ctrl-C (SIGINT) or SIGTERM leaves neither a truncated capture
# nor the temporary, and a file of that name as it was. (A background job's
# SIGINT is ignored from the start: python puts its default back.)
tmp_started() { compgen -G "$1/.x.pcap.*" >/dev/null && [ -s "$(compgen -G "$1/.x.pcap.*")" ]; }
interrupted() { # SIGNAL NUMBER
	local d=$TMP/int.$1 pid rc=0
	mkdir -p "$d" && echo "an older file" >"$d/x.pcap"
	/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$RINGFAN" gen -q -o "$d/x.pcap" --packets 50000000 &
	pid=$!
	bg_pid "$pid"
	wait_until 30 tmp_started "$d"
	kill -"$1" "$pid"
	wait "$pid" || rc=$?
	check_eq "$rc" $((128 + $2)) "status of gen stopped by SIG$1"
	check_eq "$(ls -A "$d")" x.pcap "files after gen stopped by SIG$1"
	check_eq "$(cat "$d/x.pcap")" "an older file" "x.pcap after gen stopped by SIG$1"
}
if [ -x /usr/bin/python3 ]; then
	interrupted INT 2
	interrupted TERM 15
else
	info "no /usr/bin/python3: interrupted runs not checked"
fi

# ---- usage errors ----
"$RINGFAN" gen --help | grep -q -- '--frag-ooo' || fail "--help lists the options"
expect_fail 2 "missing -o FILE" "$RINGFAN" gen --flows 3
expect_fail 2 "invalid value '150' for --vlan" "$RINGFAN" gen -o "$TMP/x" --vlan 150
expect_fail 2 "invalid value 'x' for --ipv6" "$RINGFAN" gen -o "$TMP/x" --ipv6 x
expect_fail 2 "invalid value '10' for --size" "$RINGFAN" gen -o "$TMP/x" --size 10
expect_fail 2 "invalid value '500-100' for --size" "$RINGFAN" gen -o "$TMP/x" --size 500-100
expect_fail 2 "invalid value '0' for --flows" "$RINGFAN" gen -o "$TMP/x" --flows 0
expect_fail 2 "invalid value '-5' for --packets" "$RINGFAN" gen -o "$TMP/x" --packets -5
expect_fail 2 "invalid value '0' for --rate" "$RINGFAN" gen -o "$TMP/x" --rate 0
expect_fail 2 "invalid value '8' for --snaplen" "$RINGFAN" gen -o "$TMP/x" --snaplen 8
expect_fail 2 "unknown option '--frobnicate'" "$RINGFAN" gen -o "$TMP/x" --frobnicate
expect_fail 2 "missing value for option '--seed'" "$RINGFAN" gen -o "$TMP/x" --seed
expect_fail 2 "unexpected argument 'extra'" "$RINGFAN" gen -o "$TMP/x" extra
expect_fail 2 "--vlan, --qinq, --mpls, --pppoe and --fabricpath add up to more than 100%" \
	"$RINGFAN" gen -o "$TMP/x" --vlan 60 --qinq 50
expect_fail 2 "--vlan, --qinq, --mpls, --pppoe and --fabricpath add up" \
	"$RINGFAN" gen -o "$TMP/x" --pppoe 60 --fabricpath 50
expect_fail 2 "--gre, --vxlan, --geneve, --gtpu, --ipip and --capwap add up" \
	"$RINGFAN" gen -o "$TMP/x" --gre 60 --gtpu 50
expect_fail 2 "--gre, --vxlan, --geneve, --gtpu, --ipip and --capwap add up" \
	"$RINGFAN" gen -o "$TMP/x" --capwap 60 --vxlan 50
expect_fail 2 "invalid value '101' for --arp" "$RINGFAN" gen -o "$TMP/x" --arp 101
expect_fail 2 "too few for 100 flows" "$RINGFAN" gen -o "$TMP/x" --flows 100 --packets 150
[ ! -e "$TMP/x" ] || fail "a usage error created the output file"
echo "PASS"
