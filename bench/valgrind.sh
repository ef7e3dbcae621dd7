#!/bin/sh
# valgrind memcheck over integration suites: the daemon (and every civicdesk command the suites
# run) under valgrind, one log per process; then a summary of leaks and invalid accesses.
# Uses the test build (-O1 -g, no sanitizer). Slow (20-50 times): pick suites.
# usage: bench/valgrind.sh [tests/integration/test_X.py ...]   (default: a set of short ones)
set -u
cd "$(dirname "$0")/.."
make --no-print-directory -j2 V=test build >/dev/null || exit 1
out=${VALGRIND_OUT:-build/valgrind}
rm -rf "$out" && mkdir -p "$out"
wrapper="$out/civicdesk"
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --track-origins=no \
	--suppressions=$(pwd)/bench/valgrind.supp \
	--log-file=$(pwd)/$out/vg.%p.log $(pwd)/build/test/civicdesk "\$@"
EOF
chmod +x "$wrapper"
suites=${*:-"tests/integration/test_edges.py tests/integration/test_screen.py
 tests/integration/test_scan.py tests/integration/test_totp.py tests/integration/test_archive.py
 tests/integration/test_intake.py tests/integration/test_workflow.py"}
for t in $suites; do
	printf '%s: ' "$t"
	CIVICDESK_BIN="$wrapper" timeout 3600 python3 "$t" >"$out/$(basename "$t" .py).tap" 2>&1
	echo "$(grep -c '^ok' "$out/$(basename "$t" .py).tap") ok," \
		"$(grep -c '^not ok' "$out/$(basename "$t" .py).tap") not ok"
done
logs=$(ls "$out"/vg.*.log | wc -l)
errs=$(cat "$out"/vg.*.log | grep -c 'Invalid \(read\|write\|free\)\|uninitialised\|Mismatched free')
lost=$(cat "$out"/vg.*.log | grep -c 'definitely lost in\|indirectly lost in')
echo "valgrind: $logs processes, $errs invalid accesses or uses of uninitialised values," \
	"$lost leak records (definite or indirect)"
[ "$errs" -eq 0 ] && [ "$lost" -eq 0 ]
