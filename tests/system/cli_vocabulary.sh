#!/usr/bin/env bash
# One vocabulary across subcommands. Every subcommand's option table (its
# hidden --list-options: short, long, argument, arity, new spelling of an
# old one, help) is read from the program itself, and:
#  - a long option has the same letter, argument and arity in every
#    subcommand that has it (the argument's name says what it means: OCTAL
#    permissions are not a hash MODE, a CPU is not CPUS);
#  - a letter stands for the same long option everywhere;
#    (a balancer option's "[SCOPE:]" prefix aside);
#  - an old spelling names an option of its own subcommand with the same
#    arity, is no current spelling there, warns naming the new one, and then
#    acts as it (each is run below: a new old spelling needs a case here);
#  - every subcommand whose help speaks of JSON has -j/--json;
#  - --help shows every current option and no old one, and the man page
#    documents every current option and every old spelling as deprecated.
. "$(dirname "$0")/lib.sh"
need_pcaps
cap=$PCAPS/smtp.pcap
[ -f "$cap" ] || skip "$cap is absent"

cmds=$("$RINGFAN" --help | awk '/^Commands:/ { on = 1; next } on && NF { print $1 } on && !NF { exit }')
[ -n "$cmds" ] || fail "no commands in ringfan --help"
for c in $cmds; do
	"$RINGFAN" "$c" --list-options >"$TMP/$c.tsv" || fail "$c --list-options failed"
	[ -s "$TMP/$c.tsv" ] || fail "$c lists no options"
	awk -F'\t' -v c="$c" 'NF != 6 { print "bad line: " $0; exit 1 } { print c "\t" $0 }' \
		"$TMP/$c.tsv" >>"$TMP/all.tsv" || fail "$c --list-options: bad format"
done
info "commands: $(echo $cmds)"
# Columns of all.tsv: command, short, long, argument, arity, new spelling, help.

# The same long option: one letter, one argument, one arity. The balancer's
# per-group options take "[SCOPE:]" before the argument (ringfan-balance(1),
# PER-QUEUE OPTIONS): the argument after it is the one compared.
clash=$(awk -F'\t' '$6 == "-" && $3 != "-" {
	a = $4
	sub(/^\[SCOPE:\]/, "", a)
	v = $2 " " a " " $5
	if ($3 in seen && seen[$3] != v)
		print $3 ": " where[$3] " has " seen[$3] ", " $1 " has " v
	else if (!($3 in seen)) { seen[$3] = v; where[$3] = $1 }
}' "$TMP/all.tsv")
[ -z "$clash" ] || fail "a long option means different things: $clash"
info "ok: every long option has one letter, argument and arity in every command"

# The same letter: one long option.
clash=$(awk -F'\t' '$6 == "-" && $2 != "-" {
	if ($2 in seen && seen[$2] != $3)
		print $2 ": " seen[$2] " in " where[$2] ", " $3 " in " $1
	else if (!($2 in seen)) { seen[$2] = $3; where[$2] = $1 }
}' "$TMP/all.tsv")
[ -z "$clash" ] || fail "a letter means different things: $clash"
info "ok: every letter is one long option in every command"

# The clashes this vocabulary replaced stay gone.
! awk -F'\t' '$6 == "-" && $3 == "--mode"' "$TMP/all.tsv" | grep -q . ||
	fail "--mode is a current option again (file mode or hash mode?)"
check_eq "$(awk -F'\t' '$6 == "-" && $3 == "--ring-size" { print $1 }' "$TMP/all.tsv")" balance \
	"commands whose --ring-size is current (the queue ring)"

# Old spellings: of an option of the same command, same arity, not current there.
bad=$(awk -F'\t' '
	$6 == "-" { cur[$1 " " $3] = $5; if ($2 != "-") cur[$1 " " $2] = $5 }
	$6 != "-" { old[NR] = $0 }
	END {
		for (i in old) {
			split(old[i], f, "\t")
			sp = f[3] != "-" ? f[3] : f[2]
			if (!((f[1] " " f[6]) in cur)) print f[1] " " sp ": no option " f[6]
			else if (cur[f[1] " " f[6]] != f[5]) print f[1] " " sp ": arity differs from " f[6]
			if ((f[1] " " sp) in cur) print f[1] " " sp ": also a current spelling"
		}
	}' "$TMP/all.tsv")
[ -z "$bad" ] || fail "old spellings: $bad"

# Each old spelling warns naming the new one, then acts as it.
old_case() { # command spelling expected-status pattern args...
	local c=$1 sp=$2 st=$3 pat=$4 new
	shift 4
	new=$(awk -F'\t' -v c="$c" -v s="$sp" '$1 == c && $6 != "-" && ($3 == s || $2 == s) { print $6 }' \
		"$TMP/all.tsv")
	[ -n "$new" ] || fail "$c $sp is no old spelling"
	local rc=0 err
	err=$("$RINGFAN" "$c" "$@" 2>&1) || rc=$?
	[ "$rc" == "$st" ] || fail "'$c $*' exited $rc, expected $st: $err"
	grep -qF "warning: '$c $sp' is deprecated, use '$new'" <<<"$err" ||
		fail "'$c $*' does not say to use $new: $err"
	grep -qE -- "$pat" <<<"$err" || fail "'$c $*' said '$err', expected /$pat/"
	info "ok: $c $sp -> $new: $(grep -E -- "$pat" <<<"$err" | head -1)"
	echo "$c $sp" >>"$TMP/cases"
}
old_case balance --mode 0 "cluster 41 finished" -i "pcap:$cap" -c 41 -n 1 --mode 0640
check_eq "$(stat -c %a "$RINGFAN_DIR/41@0.ring")" 640 "queue file mode after --mode 0640"
old_case count --ring-size 2 "invalid value for --capture-ring-size: 'huge'" -i lo --ring-size huge
old_case explain --mode 0 "^# 125 packets, mode 5tuple" --mode 5tuple "$cap"
check_eq "$("$RINGFAN" explain --mode 5tuple -n 3 "$cap" 2>/dev/null | md5sum)" \
	"$("$RINGFAN" explain -m 5tuple -n 3 "$cap" 2>/dev/null | md5sum)" "explain --mode = -m"
old_case clean -n 0 "would remove" -n -c 41
[ -e "$RINGFAN_DIR/41@0.ring" ] || fail "clean -n removed files"
old_case exporter -l 2 "bad listen address 'nowhere'" -l nowhere --once
old_case top -d 2 "bad --delay '0.01'" -d 0.01
old_case top -n 2 "bad --iterations '0'" -n 0
old_case top -s 2 "bad --sort 'size'" -s size
old_case health -i 3 "bad --interval '0'" -c 41 -i 0
# The balancer's config file: the old key warns with FILE:LINE, and acts.
printf 'interface pcap:%s\ncluster 42\nqueues 1\nmode 0604\n' "$cap" >"$TMP/old.conf"
expect_fail 0 "warning: $TMP/old.conf:4: 'mode' is deprecated, use 'file-mode'" \
	"$RINGFAN" balance "$TMP/old.conf"
check_eq "$(stat -c %a "$RINGFAN_DIR/42@0.ring")" 604 "queue file mode after 'mode 0604'"
missing=$(awk -F'\t' '$6 != "-" { print $1 " " ($3 != "-" ? $3 : $2) }' "$TMP/all.tsv" |
	grep -vxFf "$TMP/cases" || true)
[ -z "$missing" ] || fail "old spellings without a case in this test: $missing"
info "ok: every old spelling warns and acts as the new one"

# JSON output: -j/--json.
for c in $cmds; do
	"$RINGFAN" "$c" --help | grep -q JSON || continue
	grep -qP "^$c\t-j\t--json\t" "$TMP/all.tsv" || fail "$c prints JSON but has no -j/--json"
done
info "ok: every command that prints JSON has -j/--json"

# --help and the man pages.
for c in $cmds; do
	help=$("$RINGFAN" "$c" --help)
	man=$TOP/man/ringfan-$c.1.scd
	[ -f "$man" ] || fail "no man page $man"
	while IFS=$'\t' read -r s l _ _ new _; do
		if [ "$new" == - ]; then
			grep -qF -- "$l" <<<"$help" || fail "$c --help does not show $l"
			grep -qF -- "*$l*" "$man" || fail "ringfan-$c(1) does not document $l"
		else
			sp=$l; [ "$l" != - ] || sp=$s
			[ "$l" == - ] || ! grep -qE -- "$l( |\$)" <<<"$help" || fail "$c --help shows old $l"
			grep -A3 -F -- "*$sp*" "$man" | grep -q deprecated ||
				fail "ringfan-$c(1) does not say that $sp is deprecated"
		fi
	done <"$TMP/$c.tsv"
done
info "ok: --help and the man pages show every current option, the man pages the old ones"
