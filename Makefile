# civicdesk — one plain Makefile. Every library comes from Debian, found with pkg-config.
#
#   make run     install what is missing, build, serve on http://127.0.0.1:8080
#   make test    install what the tests need, build with -Werror (and ASan+UBSan), run every test
#   make bench   build optimised and run the benchmarks in bench/
#   make fuzz    build the libFuzzer targets with clang (not part of make test)
#   make soak    30 minutes of mixed load: RSS growth, errors, p99 (not part of make test)
#   make install the binary, a systemd unit and /etc/civicdesk/civicdesk.conf (kept if present)
#
# Build variants live in separate folders: build/rel (optimised, `make run`, benchmarks),
# build/test (-Werror, test hooks compiled in), build/asan (ASan+UBSan, test hooks).

V ?= rel
PKGS := libmicrohttpd sqlite3 libcurl libesmtp-1.0 jansson gmime-3.0 libsodium liboath openssl libqrencode libxml-2.0
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wformat=2
BASE_CFLAGS := $(WARN) -D_GNU_SOURCE -I. -pthread -MMD -MP

ifeq ($(V),test)
B := build/test
VFLAGS := -O1 -g -Werror -DCIVICDESK_TEST_HOOKS
else ifeq ($(V),asan)
B := build/asan
VFLAGS := -O1 -g -Werror -DCIVICDESK_TEST_HOOKS -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build/rel
VFLAGS := -O2 -g
endif

CC ?= cc
CFLAGS_ALL = $(BASE_CFLAGS) $(VFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(VFLAGS) -pthread $(LDFLAGS)
LIBS_ALL = $(PKG_LIBS) -lm

# Sources: every module folder; the daemon's main is kept out of the library so tests link it.
LIB_SRC := $(sort $(wildcard sla/*.c db/*.c notifiers/*.c web/*.c) \
	$(filter-out service/cli/main.c,$(wildcard service/*/*.c)))
CALENDARS := $(sort $(wildcard sla/calendars/cn/*.txt))
MIGRATIONS := $(sort $(wildcard schema/*.sql))
WEB_TEMPLATES := $(sort $(wildcard web/templates/*.html))
WEB_STATIC := $(sort $(wildcard web/static/*))
WEB_I18N := $(sort $(wildcard web/i18n/*.txt))
# static files worth compressing, gzipped at build time and embedded beside them (web.h)
WEB_GZ := $(patsubst web/static/%,$(B)/gen/static/%.gz,$(filter %.css %.js %.svg %.txt %.json,$(WEB_STATIC)))
GEN_SRC := $(B)/gen/calendars.c $(B)/gen/schema.c $(B)/gen/passwords.c \
	$(B)/gen/web_templates.c $(B)/gen/web_static.c $(B)/gen/web_i18n.c
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(GEN_SRC:$(B)/gen/%.c=$(B)/obj/gen/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
EMBED := build/tools/embed

.SECONDARY:

.PHONY: all build unit bench-bin run test bench fuzz deps deps-test deps-bench clean format install soak

all: build

build: $(B)/civicdesk

unit: $(UNIT_BIN)

bench-bin: $(BENCH_BIN)

$(B)/civicdesk: $(B)/obj/service/cli/main.o $(B)/libcivicdesk.a
	@echo "  LD $(V) $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(B)/libcivicdesk.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	@ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $(V) $<"
	@$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC $(V) $<"
	@$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -c -o $@ $<

$(EMBED): tools/embed.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -Wall -Wextra -o $@ $<

$(B)/gen/calendars.c: $(EMBED) $(CALENDARS)
	@mkdir -p $(@D)
	@$(EMBED) sla/sla_int.h "struct sla_blob" sla_builtin_files $(CALENDARS) > $@.tmp && mv $@.tmp $@

$(B)/gen/schema.c: $(EMBED) $(MIGRATIONS)
	@mkdir -p $(@D)
	@$(EMBED) db/db_int.h "struct db_blob" db_migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(B)/gen/web_templates.c: $(EMBED) $(WEB_TEMPLATES)
	@mkdir -p $(@D)
	@$(EMBED) web/web_int.h "struct web_blob" web_builtin_templates $(WEB_TEMPLATES) > $@.tmp && mv $@.tmp $@

$(B)/gen/static/%.gz: web/static/%
	@mkdir -p $(@D)
	@gzip -9 -n -c $< > $@.tmp && mv $@.tmp $@

$(B)/gen/web_static.c: $(EMBED) $(WEB_STATIC) $(WEB_GZ)
	@mkdir -p $(@D)
	@$(EMBED) web/web_int.h "struct web_blob" web_builtin_static $(WEB_STATIC) $(WEB_GZ) > $@.tmp && mv $@.tmp $@

$(B)/gen/web_i18n.c: $(EMBED) $(WEB_I18N)
	@mkdir -p $(@D)
	@$(EMBED) web/web_int.h "struct web_blob" web_builtin_i18n $(WEB_I18N) > $@.tmp && mv $@.tmp $@

$(B)/gen/passwords.c: $(EMBED) service/core/data/password-blocklist.txt
	@mkdir -p $(@D)
	@$(EMBED) service/core/core_int.h "struct core_blob" core_password_blocklist \
		service/core/data/password-blocklist.txt > $@.tmp && mv $@.tmp $@

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/libcivicdesk.a
	@mkdir -p $(@D)
	@echo "  LD $(V) $@"
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(B)/bench/%: $(B)/obj/bench/%.o $(B)/libcivicdesk.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# --- the two commands -------------------------------------------------------------------------

deps:
	@tools/deps run

deps-bench:
	@tools/deps bench

deps-test:
	@tools/deps test

run: deps
	@$(MAKE) --no-print-directory -s V=rel build
	@mkdir -p var
	@if [ -e var/civicdesk.db ]; then \
		echo "var/civicdesk.db exists: its accounts: ./build/rel/civicdesk user list;" \
		     "a new one-time password: ./build/rel/civicdesk user reset-password NAME"; \
	fi
	./build/rel/civicdesk serve

test: deps-test
	@$(MAKE) --no-print-directory -j2 V=test build unit
	@$(MAKE) --no-print-directory -j2 V=asan build unit
	@tests/run

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin

# Installs; with DESTDIR empty and as root it also creates the system user civicdesk.
install: deps
	@$(MAKE) --no-print-directory -s V=rel build
	install -D -m 755 build/rel/civicdesk $(DESTDIR)$(BINDIR)/civicdesk
	@mkdir -p $(DESTDIR)/etc/systemd/system
	sed 's|@BINDIR@|$(BINDIR)|g' tools/civicdesk.service \
		>$(DESTDIR)/etc/systemd/system/civicdesk.service
	@if [ -e $(DESTDIR)/etc/civicdesk/civicdesk.conf ]; then \
		echo "kept $(DESTDIR)/etc/civicdesk/civicdesk.conf"; \
	else \
		install -D -m 644 tools/civicdesk.conf $(DESTDIR)/etc/civicdesk/civicdesk.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! id civicdesk >/dev/null 2>&1; then \
		useradd --system --home-dir /var/lib/civicdesk --shell /usr/sbin/nologin civicdesk; \
	fi

# 30 minutes of mixed load at a steady rate (SOAK_DURATION seconds, SOAK_RATE requests/s):
# RSS growth, error answers and p99 per window; not part of make test.
soak: deps-test
	@$(MAKE) --no-print-directory -j2 V=rel build
	@BENCH_BIN=build/rel/civicdesk python3 bench/soak.py

bench: deps-bench
	@$(MAKE) --no-print-directory -j2 V=rel build bench-bin
	@bench/run

# Every tests/fuzz/fuzz_*.c, linked with the whole library built by clang under ASan+UBSan
# (libFuzzer instruments it). Run one: build/fuzz/fuzz_X -max_total_time=600 tests/fuzz/corpus-X/
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_CFLAGS = -std=c11 -g -O1 -D_GNU_SOURCE -I. -pthread -DCIVICDESK_TEST_HOOKS \
	-fsanitize=address,undefined -fno-omit-frame-pointer $(PKG_CFLAGS)
FUZZ_GEN := $(notdir $(GEN_SRC))
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o) $(FUZZ_GEN:%.c=build/fuzz/obj/gen/%.o)

fuzz:
	@$(MAKE) --no-print-directory V=rel $(FUZZ_GEN:%=build/rel/gen/%)
	@$(MAKE) --no-print-directory -j2 $(FUZZ_BIN)
	@echo "built $(FUZZ_BIN)"

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC fuzz $<"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/obj/gen/%.o: build/rel/gen/%.c
	@mkdir -p $(@D)
	@clang $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ)
	@echo "  LD fuzz $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

format:
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c tools/*.c bench/*.c)

clean:
	rm -rf build
