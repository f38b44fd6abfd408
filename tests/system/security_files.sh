#!/usr/bin/env bash
# Attacks on the files of a root balancer by local users (doc/security.md):
#  - a queue directory someone else made (or anyone may write to, or a
#    symbolic link) is refused, by the balancer and by consumers;
#  - symbolic links left in the directory are not followed: the files they
#    point at stay untouched;
#  - read locks that any reader can take (on a ring, on the stats file, on
#    an old world-readable cluster lock) do not keep the balancer from
#    starting, nor fake a live producer;
#  - a stale pid file naming another process called "ringfan" does not
#    block a start;
#  - nobody else can rename the balancer's files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/users-helpers.bash"

"$RINGFAN" gen -o "$TMP/in.pcap" --flows 50 --packets 2000 --seed 5 -q || fail "gen"
chmod 0644 "$TMP/in.pcap"

# ---- directories the balancer and consumers must not trust ----
mkdir -m 0755 "$TMP/theirs" && chown "$STRANGER:" "$TMP/theirs"
expect_fail 1 "queue directory '$TMP/theirs' \(owner uid $(id -u "$STRANGER"), mode 0755\) is not safe: it must be owned by root or by uid 0" \
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 50 -n 1 --dir "$TMP/theirs"
check_eq "$(ls -A "$TMP/theirs")" "" "files the balancer made in someone else's directory"
mkdir -m 0777 "$TMP/open"
expect_fail 1 "queue directory '$TMP/open' \(owner uid 0, mode 0777\) is not safe" \
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 50 -n 1 --dir "$TMP/open"
ln -s "$RINGFAN_DIR" "$TMP/link"
expect_fail 1 "queue directory '$TMP/link' is not a directory \(or is a symbolic link\)" \
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 50 -n 1 --dir "$TMP/link"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 50 -n 1 2>/dev/null || fail "balance in a good directory"
chmod 0777 "$RINGFAN_DIR"
expect_fail 1 "cannot open queue 50@0: its directory '$RINGFAN_DIR' \(owner uid 0, mode 0777\) is not safe: others than its owner may write to it" \
	"$RINGFAN" count -i 50@0
chmod 0755 "$RINGFAN_DIR"
# A stranger cannot swap the balancer's files for its own.
as "$STRANGER" mv "$RINGFAN_DIR/50@0.ring" "$RINGFAN_DIR/x" 2>/dev/null &&
	fail "a stranger renamed a queue file"
info "ok: untrusted directories refused"

# ---- links left in the directory are not followed ----
for v in lock stats ring cons; do
	echo "precious $v" >"$TMP/victim.$v"
	chmod 0644 "$TMP/victim.$v"
done
ln -s "$TMP/victim.lock" "$RINGFAN_DIR/51.lock"
ln -s "$TMP/victim.stats" "$RINGFAN_DIR/51.stats.tmp"
ln -s "$TMP/victim.ring" "$RINGFAN_DIR/51@0.ring"
ln -s "$TMP/victim.cons" "$RINGFAN_DIR/51@0.cons"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 51 -n 1 -P "$TMP/51.pid" 2>"$TMP/b51.err" ||
	fail "balance with links in its directory: $(cat "$TMP/b51.err")"
for v in lock stats ring cons; do
	check_eq "$(cat "$TMP/victim.$v")" "precious $v" "the file a planted $v link pointed at"
done
for f in 51.lock 51@0.ring 51@0.cons; do
	[ -f "$RINGFAN_DIR/$f" ] && [ ! -L "$RINGFAN_DIR/$f" ] || fail "$f is not a file of the balancer's own"
done
check_eq "$(stat -c %a "$RINGFAN_DIR/51.lock")" 600 "mode of the cluster lock"
info "ok: planted links not followed"

# ---- read locks do not block the balancer ----
hold_read_lock() { # USER FILE: hold a read lock on FILE as USER until killed (run with &)
	as_bg "$1" /usr/bin/python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
print("locked", flush=True)
time.sleep(600)' "$2"
}
live() { "$RINGFAN" balance -i "pcap:$TMP/in.pcap" --loop 0 --rate 2000 -c 52 -n 2 \
	--group "$GRP" --file-mode 0640 2>>"$TMP/b52.err" & bal=$!; bg_pid $bal; }
live
wait_until 10 test -e "$RINGFAN_DIR/52@1.ring"
expect_fail 1 "Permission denied" as "$MEMBER" cat "$RINGFAN_DIR/52.lock"
# While it runs, its files are write-locked: a reader cannot even take a read lock.
hold_read_lock "$MEMBER" "$RINGFAN_DIR/52.stats" >"$TMP/lock.running" 2>&1 &
wait $! && fail "a reader took a read lock on a running balancer's stats file"
kill -TERM $bal
wait $bal || fail "balancer exited $? on SIGTERM"
# Between a stop and the next start, a member read-locks a ring and the stats file.
for f in 52@0.ring 52.stats; do
	hold_read_lock "$MEMBER" "$RINGFAN_DIR/$f" >"$TMP/lock.$f" 2>&1 &
	bg_pid $!
	wait_until 5 grep -q locked "$TMP/lock.$f"
done
check_eq "$(qinfo 52@0 producer_pid)" 0 "producer of 52@0 (only a reader holds a lock)"
"$RINGFAN" stats -c 52 --json | grep -q '"alive":false' || fail "a reader's lock made a stopped balancer look alive"
live
wait_until 10 stat_is 52 pid $bal
alive $bal || fail "a reader's lock kept the balancer from starting: $(cat "$TMP/b52.err")"
grep -q "queue 52@0: new generation (another process holds a lock on the previous ring)" \
	"$TMP/b52.err" || fail "no line about the locked ring: $(cat "$TMP/b52.err")"
grep -q "queue 52@1: resumed" "$TMP/b52.err" || fail "52@1 was not resumed"
kill -TERM $bal
wait $bal
# A world-readable cluster lock of an older version, read-locked: replaced.
printf '1\n' >"$RINGFAN_DIR/53.lock"
chmod 0644 "$RINGFAN_DIR/53.lock"
hold_read_lock "$STRANGER" "$RINGFAN_DIR/53.lock" >"$TMP/lock.53" 2>&1 &
bg_pid $!
wait_until 5 grep -q locked "$TMP/lock.53"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 53 -n 1 2>"$TMP/b53.err" ||
	fail "a read lock on the cluster lock blocked the balancer: $(cat "$TMP/b53.err")"
check_eq "$(stat -c %a "$RINGFAN_DIR/53.lock")" 600 "mode of the replaced cluster lock"
info "ok: read locks neither block nor fake a balancer"

# ---- a stale pid file taken over by a process called ringfan ----
cp /bin/sleep "$TMP/ringfan"
"$TMP/ringfan" 600 &
squat=$!
bg_pid $squat
echo $squat >"$TMP/54.pid"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" --loop 0 --rate 1000 -c 54 -n 1 -P "$TMP/54.pid" \
	2>"$TMP/b54.err" &
bal=$!
bg_pid $bal
pid_is() { [ "$(cat "$TMP/54.pid" 2>/dev/null)" == "$1" ]; }
wait_until 10 pid_is $bal
# ...while a running balancer's pid file is respected.
expect_fail 1 "pid file '$TMP/54.pid' belongs to running balancer $bal" \
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 55 -n 1 -P "$TMP/54.pid"
kill -TERM $bal
wait $bal
[ ! -e "$TMP/54.pid" ] || fail "the pid file was not removed at exit"
echo "PASS"
