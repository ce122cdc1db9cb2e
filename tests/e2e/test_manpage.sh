#!/usr/bin/env bash
# The manual page (man/engram.1) is in step with the program: every command of `engram --help`
# has a SYNOPSIS line and a COMMANDS section, every long option in a command's usage line and
# every global option is in the page, every configuration key of `engram config check` has an
# entry, and groff renders the page without a warning (when groff is installed).
. "$(dirname "$0")/lib.sh"
MAN="$ENGRAM_SRC/man/engram.1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
[ -f "$MAN" ] || { fail "no $MAN"; finish; exit; }
# the page with roff's escaped hyphens (\-) as plain ones, for the searches below
sed 's/\\-/-/g' "$MAN" >"$T/page"

cmds="$(E --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')"
[ "$(echo "$cmds" | wc -w)" -ge 10 ] || fail "could not read the command list of engram --help: [$cmds]"
for c in $cmds; do
  grep -q "^\.B engram $c\b" "$T/page" && ok "SYNOPSIS has $c" || fail "SYNOPSIS lacks 'engram $c'"
  grep -q "^\.SS \"$c\b" "$T/page" && ok "COMMANDS has $c" || fail "COMMANDS lacks a section for $c"
  # the long options of the command's usage line (`usage: engram CMD [--opt X] ...`)
  for o in $(E "$c" --help | head -n 2 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$o\b" "$T/page" || fail "$c: option $o of --help is not in the page"
  done
done
# and the other way round: every short option a command accepts (found by trying each letter
# with no value: an accepted one is not "unknown"; -h, -q and -v are every command's) is named as
# "-X, --long" (or "-X/--long") in the command's --help and as ".BR -X ", "" in the page
for c in $cmds; do
  for l in a b c d e f g i j k l m n o p r s t u w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z; do
    out=$(cd "$T" && timeout 10 "$ENGRAM_BIN" --config /dev/null --store "$T/none.db" "$c" "-$l" 2>&1 </dev/null)
    case "$out" in *"unknown option \"-$l\""*) continue ;; esac
    E "$c" --help | grep -qE -- "-$l(, |/)--" && ok "$c: -$l is in --help" || fail "$c: accepts -$l, which its --help does not name"
    grep -q -- "^\.BR -$l \", \" --" "$T/page" && ok "$c: -$l is in the page" || fail "$c: accepts -$l, which the page does not name"
  done
done
for o in $(E --help | sed -n '/^Global options/,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -q -- "$o\b" "$T/page" && ok "global option $o" || fail "global option $o is not in the page"
done
# the configuration keys, each with an entry (.B key, or in a .BR list)
( cd "$T" && E config check ) | awk 'NR > 2 && $2 == "=" { print $1 }' >"$T/keys"
[ -s "$T/keys" ] || fail "could not read the keys of engram config check"
missing=""
while read -r k; do
  grep -q "^\.BR\? .*\b$k\b" "$T/page" || missing="$missing $k"
done <"$T/keys"
check "every configuration key has an entry" "" "$missing"
# nothing the page calls planned or reserved any more
check "nothing planned" "" "$(grep -n -i 'planned\|reserved for' "$T/page")"
if command -v groff >/dev/null; then
  groff -ww -man -Tutf8 "$MAN" >/dev/null 2>"$T/groff.err"
  check "groff -ww renders without warnings" "" "$(cat "$T/groff.err")"
else
  echo "groff not installed: rendering not checked"
fi
finish
