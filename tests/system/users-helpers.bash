# Throwaway users and groups for the tests of permissions and attacks
# (sourced after lib.sh), running commands as them, and a program they may
# run.
need_root
need_cmd useradd userdel groupadd groupdel setpriv

# Users: $MEMBER (in groups $GRP and $GRP2), $OTHER (in $GRP2 only), $STRANGER
# (in no group of ours), $DAEMON (for -D); removed at exit.
tag=rfu$$
GRP=${tag}a
GRP2=${tag}b
MEMBER=${tag}m
OTHER=${tag}o
STRANGER=${tag}s
DAEMON=${tag}d
users_cleanup() {
	local u
	for u in "$MEMBER" "$OTHER" "$STRANGER" "$DAEMON"; do userdel "$u" 2>/dev/null || true; done
	for u in "$MEMBER" "$OTHER" "$STRANGER" "$DAEMON" "$GRP" "$GRP2"; do
		groupdel "$u" 2>/dev/null || true
	done
}
trap 'cleanup; users_cleanup' EXIT
groupadd "$GRP" && groupadd "$GRP2" || skip "cannot create groups"
useradd -M -N -s /usr/sbin/nologin -G "$GRP,$GRP2" "$MEMBER" || skip "cannot create users"
useradd -M -N -s /usr/sbin/nologin -G "$GRP2" "$OTHER" || skip "cannot create users"
useradd -M -N -s /usr/sbin/nologin "$STRANGER" || skip "cannot create users"
useradd -M -N -s /usr/sbin/nologin "$DAEMON" || skip "cannot create users"

# as USER cmd...: run as USER with its own groups only.
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"
}
# as_bg USER cmd... &: the same in the background, the command taking the
# place of the subshell (so that $! is the command, which kill reaches).
as_bg() {
	local u=$1
	shift
	exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"
}
# The users must reach the queue directory and the programs.
chmod 0711 "$TMP"
chmod 0755 "$RINGFAN_DIR"
as "$STRANGER" true 2>/dev/null || skip "setpriv cannot switch users here"
RINGFAN_PUB=$(pub_copy "$RINGFAN")

# write_tail USER FILE VALUE: as USER, write a cursor into a consumer page;
# prints "ok" or the error.
write_tail() {
	as "$1" /usr/bin/python3 -c '
import os, struct, sys
try:
    fd = os.open(sys.argv[1], os.O_RDWR)
    os.pwrite(fd, struct.pack("<Q", int(sys.argv[2])), 128)
    print("ok")
except OSError as e:
    print(e.strerror)' "$2" "$3"
}
