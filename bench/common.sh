# Helpers shared by the benchmark scripts (sourced).

# The machine a figure was measured on: "CPU model, N cores, kernel VERSION".
machine() {
	echo "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores, kernel $(uname -r)"
}

# Median of the numbers on standard input, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# veth_pair PREFIX MTU: network namespaces $nss (PREFIXs-PID) and $nsc
# (PREFIXc-PID), without IPv6 (router solicitations, MLD: only the sent
# packets cross), joined by a veth pair vtx ($nss) - vrx ($nsc), up with
# that MTU. veth_pair_del removes them (from the caller's cleanup).
veth_pair() {
	nss=$1s-$$
	nsc=$1c-$$
	ip netns add "$nss"
	ip netns add "$nsc"
	local n
	for n in "$nss" "$nsc"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$nss" link add name vtx type veth peer name vrx netns "$nsc"
	ip -n "$nss" link set vtx mtu "$2" up
	ip -n "$nsc" link set vrx mtu "$2" up
}
veth_pair_del() {
	[ -z "${nss:-}" ] || ip netns del "$nss" 2>/dev/null || true
	[ -z "${nsc:-}" ] || ip netns del "$nsc" 2>/dev/null || true
}

# stats_snapshot STATS COPY: one whole snapshot of a balancer's stats file
# (its seq and end lines agree: not caught mid-write), copied so that every
# read of it agrees; 1 if none came within about a second.
stats_snapshot() {
	local _
	for _ in $(seq 50); do
		cp "$1" "$2" 2>/dev/null || true
		if [ "$(awk -F': ' '$1 == "seq" { s = $2 } $1 == "end" { e = $2 } END { print (s != "" && s == e) }' "$2")" == 1 ]; then
			return 0
		fi
		sleep 0.02
	done
	return 1
}
# snap_value COPY KEY: the value of KEY in a snapshot.
snap_value() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$1"; }

# queue_dir WORK: sets RINGFAN_DIR, the run's queue directory, below WORK (a
# fresh directory). QUEUE_FS=huge puts it on a tmpfs of its own mounted with
# transparent huge pages (huge=within_size; doc/performance.md, "Queues on
# huge pages"), which queue_dir_del unmounts (from the caller's cleanup);
# default: WORK itself, on /dev/shm.
queue_dir() {
	case ${QUEUE_FS:-shm} in
	shm) ;;
	huge)
		mkdir "$1/q"
		mount -t tmpfs -o huge=within_size,mode=0755 ringfan-bench "$1/q"
		qmount=$1/q
		export RINGFAN_DIR=$1/q/run
		return
		;;
	*) echo "QUEUE_FS=$QUEUE_FS: use shm (default) or huge" >&2 && exit 2 ;;
	esac
	export RINGFAN_DIR=$1/run
}
queue_dir_del() { [ -z "${qmount:-}" ] || umount "$qmount" 2>/dev/null || true; }
