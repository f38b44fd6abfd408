#!/usr/bin/env bash
# The program's entry point: help, version, unknown commands.
. "$(dirname "$0")/lib.sh"

"$RINGFAN" --help | grep -q '^Usage: ringfan COMMAND' || fail "--help prints usage"
"$RINGFAN" --version | grep -qE '^ringfan [0-9]+\.[0-9]+' || fail "--version"
expect_fail 2 "unknown command 'frobnicate'" "$RINGFAN" frobnicate
expect_fail 2 "Usage" "$RINGFAN"
