#!/usr/bin/env bash
# The example alerting rules dist/ringfan.rules.yml: valid for Prometheus
# (promtool check rules), and each alert fires where it should and nowhere
# else on the made-up series of ringfan-rules.test.yml (promtool test rules).
. "$(dirname "$0")/lib.sh"
need_cmd promtool

out=$(promtool check rules "$TOP/dist/ringfan.rules.yml" 2>&1) || fail "promtool check rules: $out"
info "ok: $(grep -o 'SUCCESS.*' <<<"$out")"
out=$(promtool test rules "$TOP/tests/system/ringfan-rules.test.yml" 2>&1) || fail "promtool test rules: $out"
grep -q SUCCESS <<<"$out" || fail "promtool test rules said: $out"
echo "PASS: the example alerting rules load and fire as their tests say"
