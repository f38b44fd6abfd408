#!/usr/bin/env bash
# Draw the figures of doc/performance.md from bench/results/*.csv (written by
# bench/run-all.sh) into doc/img/*.png with gnuplot:
#   queue.png        queue throughput vs packet size (queue.csv)
#   live.png         live capture: received fraction vs achieved rate (live.csv)
#   spread.png       spread of flows and packets over 4 queues per mode (spread.csv)
#   live-cpu.png     live capture CPU per packet at paced rates (live-cpu.csv)
#   small.png        64-byte packets through the whole balancer: packet rate of
#                    each command of bench/small.sh (small.csv)
#   decode-hash.png  decode + hash time per packet per mode (decode-hash.csv) and
#                    instructions per packet (decode-hash-instr.csv)
# A figure whose CSV is missing or empty is skipped with a message (its old
# PNG, if any, stays). Environment: RESULTS (default bench/results), IMG
# (default doc/img).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
res=${RESULTS:-$top/bench/results}
img=${IMG:-$top/doc/img}
command -v gnuplot >/dev/null || { echo "plot.sh: needs gnuplot (gnuplot-nox)" >&2; exit 1; }
mkdir -p "$img"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

machine=$(cat "$res/machine.txt" 2>/dev/null || echo "machine unknown")
machine=${machine//\"/}
# Debian's gnuplot-nox has pngcairo; plain png (libgd) otherwise.
if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then
	term='pngcairo size 800,500 font "sans,10" noenhanced'
else
	term='png size 800,500 noenhanced'
fi

# has CSV: the file exists and has a line below its header.
has() { [ -f "$res/$1" ] && [ "$(wc -l <"$res/$1")" -ge 2 ]; }
made=()
# draw NAME SCRIPT: run gnuplot with the common settings and SCRIPT.
draw() {
	gnuplot <<-EOF
		set terminal $term
		set output "$img/$1.png"
		set datafile separator ","
		set key outside right top box opaque
		set grid ytics lc rgb "#dddddd"
		set bmargin 5
		set label 99 "$machine" at screen 0.01, screen 0.02 font ",8" tc rgb "#555555"
		$2
	EOF
	made+=("$img/$1.png")
}

# 1. Queue throughput
if has queue.csv; then
	draw queue '
		set title "Queue throughput, producer and consumer in two processes on 2 CPUs"
		set xlabel "packet size (bytes)"
		set ylabel "million packets per second received (log scale)"
		set logscale y
		set xrange [0:1600]
		set xtics ("64" 64, "512" 512, "1500" 1500)
		set key inside right top
		plot "'"$res/queue.csv"'" skip 1 using 1:2 with linespoints lw 2 pt 7 title "bare SPSC ring (reference)", \
			"" skip 1 using 1:3 with linespoints lw 2 pt 5 title "ringfan queue", \
			"" skip 1 using 1:4 with linespoints lw 2 pt 9 title "AF_PACKET over veth (sendmmsg, TPACKET_V3 ring)", \
			"" skip 1 using 1:5 with linespoints lw 2 pt 11 dt 2 title "same, PACKET_QDISC_BYPASS"'
else
	echo "plot.sh: no $res/queue.csv: queue.png not drawn"
fi

# 2. Live capture. Per size and contender (tcpdump, ringfan with Q queues)
# and offered rate: medians over the runs of the achieved rate and of
# received/sent; one series file per contender, one panel per size.
if has live.csv; then
	awk -F, -v dir="$tmp" '
		function median(s,   n, a, i, j, t) {
			n = split(s, a, " ")
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{
			sent = $col["sent"] + 0
			if (sent <= 0) next
			size = ("size" in col) ? $col["size"] : "all"
			c = $col["contender"]
			key = size SUBSEP c SUBSEP $col["queues"]
			k = key SUBSEP $col["offered_pps"]
			if (!(k in ach)) { n[key]++; rates[key, n[key]] = $col["offered_pps"] }
			ach[k] = ach[k] " " $col["achieved_pps"]
			frac[k] = frac[k] " " 100 * $col["received"] / sent
			series[key] = 1
		}
		END {
			for (key in series) {
				split(key, p, SUBSEP)
				f = dir "/live-" p[1] "-" p[2] "-" p[3] ".dat"
				for (i = 1; i <= n[key]; i++) {
					k = key SUBSEP rates[key, i]
					printf "%s %s\n", median(ach[k]) / 1000, median(frac[k]) | "sort -g > \"" f "\""
				}
			}
		}' "$res/live.csv"
	# numeric sizes first, smallest first, then named mixes (imix)
	sizes=$(cd "$tmp" && ls live-*.dat 2>/dev/null | cut -d- -f2 | sort -u |
		awk '/^[0-9]+$/ { print 0, $0; next } { print 1, $0 }' | sort -k1,1n -k2,2n -k2,2 | cut -d' ' -f2)
	nsizes=$(echo "$sizes" | wc -w)
	if ((nsizes == 0)); then
		echo "plot.sh: $res/live.csv has no usable row: live.png not drawn"
	else
		body=""
		for s in $sizes; do
			cmd=""
			# tcpdump first, then ringfan by number of queues
			for f in $(cd "$tmp" && ls live-"$s"-*.dat | sort -t- -k3,3r -k4,4n); do
				IFS=- read -r _ _ c q <<<"${f%.dat}"
				if [ "$c" = tcpdump ]; then
					t="tcpdump -i (2 MiB buffer)" style="lw 2 pt 6 dt 2 lc rgb \"black\""
				elif [ "$c" = tcpdumpbig ]; then
					t="tcpdump -i -B 32768 (32 MiB buffer)" style="lw 2 pt 4 dt 3 lc rgb \"gray40\""
				else
					t="ringfan balance, $q queue" style="lw 2 pt 7"
					if ((q > 1)); then t+=s; fi
				fi
				cmd+="${cmd:+, }\"$tmp/$f\" using 1:2 with linespoints $style title \"$t\""
			done
			lbl=$s
			[[ $s =~ ^[0-9]+$ ]] && lbl="$s-byte packets"
			body+="
				set title \"Live capture on a veth: $lbl\"
				plot $cmd"
		done
		draw live "
			set datafile separator whitespace
			set multiplot layout 1,$nsizes
			set xlabel \"achieved offered rate (thousand packets/s)\"
			set ylabel \"packets received / sent (%)\"
			set yrange [0:105]
			set key inside left bottom
			$body
			unset multiplot"
	fi
else
	echo "plot.sh: no $res/live.csv (bench/live.sh has not run): live.png not drawn"
fi

# 3. Spread over 4 queues: max/mean and min/mean of flows and packets per mode
if has spread.csv; then
	# min/mean from the printed max/mean (the printed means are rounded)
	awk -F, 'NR > 1 && $3 > 0 && $7 > 0 { printf "%s,%.4f,%.4f,%.4f,%.4f\n", $1, $5, $2 * $5 / $3, $9, $6 * $9 / $7 }' \
		"$res/spread.csv" >"$tmp/spread.dat"
	draw spread '
		set title "Spread over 4 queues per hash mode, ndpi-merged-ether.pcap (81,389 packets)"
		set xlabel "hash mode"
		set ylabel "per-queue count / mean (1 = perfect split)"
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set boxwidth 0.9
		set yrange [0:4.5]
		set key inside left top
		set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "black" front
		plot "'"$tmp/spread.dat"'" using 2:xtic(1) title "flows: busiest queue", \
			"" using 3 title "flows: quietest queue", \
			"" using 4 title "packets: busiest queue", \
			"" using 5 title "packets: quietest queue"'
else
	echo "plot.sh: no $res/spread.csv (needs the capture): spread.png not drawn"
fi

# 4. Decode + hash per mode: rows = modes, one column per input; below it the
# instructions per packet (callgrind) when decode-hash-instr.csv has them.
# table CSV VALUE_COL [ORDER]: the long CSV (input,mode,...) as a mode x
# input table; inputs named in ORDER (comma-separated) come first, in that
# order, so that an input keeps its colour from one panel to the next.
table() {
	awk -F, -v vc="$2" -v order="${3:-}" '
		BEGIN { ni = split(order, ins, ","); for (j = 1; j <= ni; j++) isin[ins[j]] = 1 }
		NR == 1 || $2 == "decode-outer" { next }
		{
			sub(/\.pcap$/, "", $1)
			m = ($2 == "decode-full" || $2 == "decode") ? "decode only" : $2
			if (!(m in seen)) { seen[m] = 1; modes[++nm] = m }
			if (!($1 in isin)) { isin[$1] = 1; ins[++ni] = $1 }
			v[m, $1] = $vc
		}
		END {
			printf "mode"; for (j = 1; j <= ni; j++) printf ",%s", ins[j]; printf "\n"
			for (i = 1; i <= nm; i++) {
				printf "%s", modes[i]
				for (j = 1; j <= ni; j++) printf ",%s", ((modes[i], ins[j]) in v) ? v[modes[i], ins[j]] : "-"
				printf "\n"
			}
		}' "$1"
}
bars='
	set datafile missing "-"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set yrange [0:*]
	set key outside top center horizontal'
if has decode-hash.csv; then
	table "$res/decode-hash.csv" 3 >"$tmp/decode.dat"
	ncol=$(head -1 "$tmp/decode.dat" | awk -F, '{ print NF }')
	panels='
		set title "Decode + flow hash + queue pick, time per packet (median of the timed passes)"
		set xlabel "hash mode (decode only = the baseline: rf_decode alone)"
		set ylabel "nanoseconds per packet"
		plot for [c=2:'"$ncol"'] "'"$tmp/decode.dat"'" using c:xtic(1) lc (c - 1) title columnheader(c)'
	layout=""
	if has decode-hash-instr.csv; then
		table "$res/decode-hash-instr.csv" 3 "$(head -1 "$tmp/decode.dat" | cut -d, -f2-)" >"$tmp/instr.dat"
		icol=$(head -1 "$tmp/instr.dat" | awk -F, '{ print NF }')
		layout="set terminal ${term/800,500/800,860}
			set multiplot layout 2,1"
		panels+='
		set title "Instructions per packet in the measured loop (valgrind --tool=callgrind; exact)"
		set ylabel "instructions per packet"
		plot for [c=2:'"$icol"'] "'"$tmp/instr.dat"'" using c:xtic(1) lc (c - 1) title columnheader(c)
		unset multiplot'
	fi
	draw decode-hash "
		$layout
		$bars
		$panels"
else
	echo "plot.sh: no $res/decode-hash.csv: decode-hash.png not drawn"
fi

# 5. Live capture CPU per packet at paced rates (64-byte packets): per rate,
# tcpdump, the balancer, its 4 consumers, the balancer + consumers.
if has live-cpu.csv; then
	awk -F, 'NR > 1 { v[$1, $2] = $3; if (!($1 in seen)) { seen[$1] = 1; r[++n] = $1 } }
		END {
			print "rate,tcpdump,balancer -n 4,4 consumers,balancer + consumers"
			for (i = 1; i <= n; i++)
				printf "%s pps,%s,%s,%s,%s\n", r[i], v[r[i], "tcpdump -B 32768"],
					v[r[i], "balancer -n 4"], v[r[i], "4 consumers"], v[r[i], "balancer + consumers"]
		}' "$res/live-cpu.csv" >"$tmp/livecpu.dat"
	draw live-cpu '
		set title "Live capture of 64-byte packets at a paced rate: CPU per million packets"
		set ylabel "CPU seconds per million packets"
		set yrange [0:*]
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		plot for [c=2:5] "'"$tmp/livecpu.dat"'" using c:xtic(1) title columnheader(c)'
else
	echo "plot.sh: no $res/live-cpu.csv: live-cpu.png not drawn"
fi

if has small.csv; then
	awk -F, 'NR > 1 { printf "\"%s\",%s\n", $1, $5 }' "$res/small.csv" >"$tmp/small.dat"
	draw small '
		set title "2 M generated 64-byte packets through the whole balancer (bench/small.sh)"
		set ylabel "million packets per second"
		set style data histograms
		set style fill solid 0.8 border -1
		set boxwidth 0.7
		set xtics rotate by -25
		set bmargin 6
		set rmargin 10
		stats "'"$tmp/small.dat"'" using 2 nooutput
		set yrange [0:(STATS_max > 8.2 ? STATS_max * 1.1 : 9)]
		set arrow from graph 0, first 8 to graph 1, first 8 nohead dt 2 lc rgb "#aa0000"
		set label "replay goal: 8 Mpps" at graph 0.02, first 8.3 tc rgb "#aa0000"
		unset key
		plot "'"$tmp/small.dat"'" using 2:xtic(1)'
else
	echo "plot.sh: no $res/small.csv: small.png not drawn"
fi

for f in "${made[@]}"; do
	echo "plot.sh: $f ($(stat -c %s "$f") bytes)"
done
