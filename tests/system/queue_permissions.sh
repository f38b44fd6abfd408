#!/usr/bin/env bash
# Permissions: a queue created with mode 0640 and a group. A user in that
# group consumes it (and still cannot write to it); a user outside the group
# gets "Permission denied" naming the queue. Throwaway users and a group with
# unique names are created and removed.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd useradd userdel groupadd groupdel setpriv
source "$(dirname "$0")/queue-helpers.bash"

tag=rfq$$
grp=${tag}g
inside=${tag}i
outside=${tag}o
perm_cleanup() {
	userdel "$inside" 2>/dev/null || true
	userdel "$outside" 2>/dev/null || true
	groupdel "$outside" 2>/dev/null || true
	groupdel "$inside" 2>/dev/null || true
	groupdel "$grp" 2>/dev/null || true
}
trap 'perm_cleanup; rm -rf "$RINGFAN_DIR"; cleanup' EXIT
groupadd "$grp" || skip "cannot create groups"
useradd -M -N -s /usr/sbin/nologin -G "$grp" "$inside" || skip "cannot create users"
useradd -M -N -s /usr/sbin/nologin "$outside" || skip "cannot create users"
gid=$(getent group "$grp" | cut -d: -f3)
as() { # USER [--groups] cmd...: run as USER with only its own groups
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"
}
chmod 0755 "$RINGFAN_DIR"
q=65@0
n=100000
"$QSTRESS" produce --lossless --records $n --rate 50000 --min 60 --max 1500 --mode 0640 --group "$gid" "$q" >"$TMP/prod" &
prod=$!
bg_pid $prod
wait_until 10 queue_up "$q"
info "queue files: $(cd "$RINGFAN_DIR" && stat -c '%n %A %U:%G' * | tr '\n' ',')"

as "$outside" true 2>/dev/null || skip "setpriv cannot switch users here"
QSTRESS=$(pub_copy "$QSTRESS")
expect_fail 1 "cannot open queue '$q': Permission denied" as "$outside" "$QSTRESS" consume "$q"
expect_fail 1 "cannot query queue '$q': Permission denied" as "$outside" "$QSTRESS" query "$q"

# The group member may read, not write: the ring file does not open read-write.
ring=$(queue_file "$q" ring)
as "$inside" "$QSTRESS" poke-file "$ring" >"$TMP/pokefile" || true
check_eq "$(kv "$TMP/pokefile" open_rdwr)" "Permission denied" "group member opening the ring read-write"
check_eq "$(kv "$TMP/pokefile" mmap_rw_from_rdonly)" "Permission denied" "group member mapping the ring writable"

as "$inside" "$QSTRESS" consume --idle 20 "$q" >"$TMP/cons" || fail "group member could not consume: $(cat "$TMP/cons")"
wait_exit $prod producer
check_eq "$(kv "$TMP/cons" received)/$(kv "$TMP/cons" run0.gaps)" "$n/0" "group member: received/gaps"
check_eq "$(kv "$TMP/cons" bad_sum)/$(kv "$TMP/cons" eof)" 0/1 "group member: corrupt/end of stream"
