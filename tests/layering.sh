#!/usr/bin/env bash
# Layering check (DESIGN.md "Layout"): each folder includes only what its layer may, so that
# the layers only call downward: cli → api, pages, mailin, notifiers → core → db, sla.
# Prints one TAP line per rule; a broken rule lists the offending #include lines.
set -u
cd "$(dirname "$0")/.."

n=0 failed=0
# rule NAME FILES-GLOB ALLOWED-REGEX: every quoted #include in FILES must match ALLOWED, and
# every angle-bracket #include must not name a library the layer may not use (FORBID-REGEX).
rule() {
	local name=$1 files=$2 allowed=$3 forbid=${4:-'^$'} bad
	n=$((n + 1))
	# shellcheck disable=SC2086
	bad=$(grep -HnE '^[[:space:]]*#[[:space:]]*include' $files /dev/null 2>/dev/null |
		awk -v allowed="$allowed" -v forbid="$forbid" '{
			line = $0; sub(/^[^:]*:[0-9]+:/, "", line)
			if (match(line, /"[^"]+"/)) { h = substr(line, RSTART + 1, RLENGTH - 2); if (h !~ allowed) print $0 }
			else if (match(line, /<[^>]+>/)) { h = substr(line, RSTART + 1, RLENGTH - 2); if (h ~ forbid) print $0 }
		}')
	if [ -z "$bad" ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		printf '%s\n' "$bad" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

rule "sla/ includes only its own headers" "sla/*.c sla/*.h" '^(sla/)?(sla|sla_int)\.h$' \
	'^(sqlite3|microhttpd|jansson|curl/|libesmtp|gmime|sodium)'
rule "db/ includes only its own headers and sla/" "db/*.c db/*.h" '^((db/)?(db|db_int)|sla/sla)\.h$' \
	'^(microhttpd|jansson|curl/|libesmtp|gmime)'
rule "service/core includes only core, db/ and sla/ (no HTTP, no JSON)" \
	"service/core/*.c service/core/*.h" '^(core\.h|core_int\.h|db/db\.h|sla/sla\.h)$' \
	'^(microhttpd|jansson|curl/|libesmtp|gmime|sqlite3)'
rule "service/http knows no items: core, db/ and its own headers only" \
	"service/http/*.c service/http/*.h" '^(http\.h|http_int\.h|service/core/core\.h|db/db\.h|sla/sla\.h)$' \
	'^(sqlite3|curl/|libesmtp|gmime)'
rule "service/api calls core and http, nothing above them" "service/api/*.c service/api/*.h" \
	'^(api\.h|api_int\.h|service/core/core\.h|service/http/http\.h|db/db\.h|sla/sla\.h)$' \
	'^(sqlite3|curl/|libesmtp|gmime)'
rule "service/mailin calls core only" "service/mailin/*.c service/mailin/*.h" \
	'^(mailin\.h|mailin_int\.h|service/core/core\.h)$' '^(sqlite3|microhttpd)'
rule "service/pages calls core, http and web/" "service/pages/*.c service/pages/*.h" \
	'^(pages\.h|pages_int\.h|service/core/core\.h|service/http/http\.h|web/web\.h|db/db\.h|sla/sla\.h)$' \
	'^(sqlite3|curl/|libesmtp|gmime)'
rule "notifiers/ calls core, db/ and sla/, never http/" "notifiers/*.c notifiers/*.h" \
	'^(notifiers\.h|notifiers_int\.h|service/core/core\.h|db/db\.h|sla/sla\.h)$' '^(sqlite3|microhttpd)'
rule "web/ includes nothing of service/" "web/*.c web/*.h" '^(web\.h|web_int\.h)$' \
	'^(sqlite3|microhttpd|curl/|libesmtp|gmime)'
rule "service/cli uses public headers only" "service/cli/*.c service/cli/*.h" \
	'^(cli\.h|service/(core/core|http/http|api/api|mailin/mailin|pages/pages)\.h|notifiers/notifiers\.h|db/db\.h|sla/sla\.h)$' \
	'^(sqlite3)'

# mail-in's rows are written by core in the transaction of the item they belong to: service/mailin
# calls no function of db/ (core.h brings db.h's types along) but the ones that free what core
# hands back (db_item_free).
n=$((n + 1))
bad=$(grep -nE '\bdb_[a-z_]+\(' service/mailin/*.c service/mailin/*.h 2>/dev/null |
	grep -vE '\bdb_[a-z_]+_free\(' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
if [ -z "$bad" ]; then
	echo "ok $n - service/mailin calls no db/ function (core writes its rows)"
else
	echo "not ok $n - service/mailin calls no db/ function (core writes its rows)"
	printf '%s\n' "$bad" | sed 's/^/#   /'
	failed=$((failed + 1))
fi

n=$((n + 1))
bad=$(grep -lE '\bsqlite3_[a-z_]+\(' --include='*.c' -r service notifiers web sla 2>/dev/null)
if [ -z "$bad" ]; then
	echo "ok $n - SQLite is called from db/ only"
else
	echo "not ok $n - SQLite is called from db/ only"
	printf '%s\n' "$bad" | sed 's/^/#   /'
	failed=$((failed + 1))
fi
echo "1..$n"
[ "$failed" -eq 0 ]
