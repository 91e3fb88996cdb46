#!/usr/bin/env bash
# docs/cli.md quotes each command's --help verbatim ("$ eds CMD --help" blocks):
# every quoted text must equal what the program prints.  A command that is
# still a stub (its --help fails) is skipped with a note.
. "$(dirname "$0")/lib.sh"
DOC=${EDS_SOURCE_DIR:?}/docs/cli.md
[ -f "$DOC" ] || { fail "docs/cli.md is missing"; finish; }

cmds=$(sed -n 's/^\$ eds \([a-z-]*\) --help$/\1/p' "$DOC")
[ -n "$cmds" ] && pass || fail "docs/cli.md quotes no --help"
for cmd in $cmds; do
	# The quoted block: the lines after "$ eds CMD --help" up to the closing fence.
	awk -v c="\$ eds $cmd --help" '$0 == c { on = 1; next } on && /^```$/ { exit } on' \
		"$DOC" >"$T/doc.txt"
	if ! "$EDS" "$cmd" --help >"$T/help.txt" 2>/dev/null; then
		echo "note: eds $cmd --help fails (not implemented here yet); its quote is not checked"
		continue
	fi
	if diff -u "$T/doc.txt" "$T/help.txt" >"$T/diff.txt"; then pass; else
		fail "docs/cli.md: the quoted 'eds $cmd --help' differs from the program (update the quote):"
		sed 's/^/    /' "$T/diff.txt" | head -20 >&2
	fi
	grep -q "^## eds $cmd\$" "$DOC" && pass || fail "docs/cli.md: no '## eds $cmd' section"
done

# Every command of `eds --help` has a section, and a row in the table at the top
# of docs/cli.md with the same one-line description; the table has no other rows.
"$EDS" --help | sed -n 's/^  \([a-z][a-z-]*\)  *\(.*\)$/\1 \2/p' >"$T/cmds.txt"
while read -r cmd what; do
	grep -q "^## eds $cmd\$" "$DOC" && pass || fail "docs/cli.md: no section for 'eds $cmd'"
	row="| [\`eds $cmd\`](#eds-$cmd) | $what |"
	grep -qxF "$row" "$DOC" && pass ||
		fail "docs/cli.md: the command table lacks the row: $row"
done <"$T/cmds.txt"
for cmd in $(sed -n 's/^| \[`eds \([a-z-]*\)`\].*/\1/p' "$DOC"); do
	grep -q "^$cmd " "$T/cmds.txt" && pass ||
		fail "docs/cli.md: the command table lists 'eds $cmd', which eds --help does not"
done
finish
