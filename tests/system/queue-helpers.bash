# Helpers for the queue tests (sourced after lib.sh): the qstress tool and
# reading its "key=value" output.

[ -x "$QSTRESS" ] || skip "$QSTRESS is not built"

# Queues live in tmpfs, as by default (/dev/shm/ringfan): a ring in a disk
# file system would be written back to disk all the time.
RINGFAN_DIR=$(mktemp -d /dev/shm/ringfan-test.XXXXXX)
export RINGFAN_DIR
trap 'rm -rf "$RINGFAN_DIR"; cleanup' EXIT

# kv FILE KEY: the value of KEY in a key=value file (fails the test if absent).
kv() {
	local v
	v=$(sed -n "s/^$2=//p" "$1" | tail -1)
	[ -n "$v" ] || fail "no '$2' in $1: $(tr '\n' ' ' <"$1")"
	echo "$v"
}

# A consumer's progress file, read while it runs (or after it was killed).
st() { "$QSTRESS" status "$1" | sed -n "s/^$2=//p"; }

# True once queue $1 exists and has a live producer.
queue_up() { "$QSTRESS" query "$1" 2>/dev/null | grep -q '^producer_pid=[1-9]'; }

# True once no consumer holds queue $1.
consumer_gone() { "$QSTRESS" query "$1" 2>/dev/null | grep -q '^consumer_pid=0$'; }

# queue_file QUEUE SUFFIX: the path of queue QUEUE's ("62@3") file whose
# name ends with SUFFIX ("cons", "ring"), for raw access.
queue_file() {
	local c=${1%@*} q=${1#*@} f
	f=$(ls "$RINGFAN_DIR" | grep -E "(^|[^0-9])$c[^0-9]+$q([^0-9]|\$)" | grep -E "$2\$" | head -1)
	[ -n "$f" ] || fail "no '$2' file of queue $1 in $RINGFAN_DIR: $(ls "$RINGFAN_DIR")"
	echo "$RINGFAN_DIR/$f"
}

# wait_exit PID WHAT: wait for a background process and fail if it failed.
wait_exit() {
	local rc=0
	wait "$1" || rc=$?
	((rc == 0)) || fail "$2 exited $rc"
}
