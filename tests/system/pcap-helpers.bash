# Helpers of the libringfan-pcap system tests (sourced after lib.sh).

# The interposer of this build. Under a sanitizer build it needs the
# sanitizer runtimes loaded first (SAN_PRELOAD, put before it in
# LD_PRELOAD).
LIB=$("$RINGFAN" run --print-library) || fail "ringfan run finds no libringfan-pcap.so"
SAN_PRELOAD=$(ldd "$LIB" | awk '/lib(a|ub)san\.so/ { printf "%s%s", sep, $3; sep = ":" }')
PRELOAD=${SAN_PRELOAD:+$SAN_PRELOAD:}$LIB
# Third-party programs (tcpdump, tshark, ...) under a sanitizer build: their
# own leaks are not ours to report. Our own (pcap-probe) are checked.
FOREIGN=()
[ -z "$SAN_PRELOAD" ] || FOREIGN=("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
# ringfan run for third-party programs, the sanitizer runtimes preloaded
# before the interposer ("${RF_RUN[@]}" PROGRAM ...: $! of it in the
# background is the program's pid).
RF_RUN=(env "LD_PRELOAD=$SAN_PRELOAD" "${FOREIGN[@]}" "$RINGFAN" run)
