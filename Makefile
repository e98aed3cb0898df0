# vcode — plain GNU make, libraries found with pkg-config.

CC	?= cc
PKGS	 = fcgi hiredis libpng libisal zlib jansson libcurl freetype2 libcrypto
CFLAGS	?= -O2 -g
# What the build needs whatever CFLAGS or CPPFLAGS are given on the command
# line (make CFLAGS='-O0 -g' keeps the include paths and the warnings).
# pkg-config runs when a rule needs the flags, after make deps; its own
# message says what is missing, and pkgcheck stops the build there.
override CPPFLAGS += -I. -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
override CFLAGS	+= -std=c11 -Wall -Wextra
# libcurl's headers, not the library: sms/ loads it when an HTTP provider
# is used (sms.c says why).
LDLIBS	+= $(shell pkg-config --libs $(filter-out libcurl,$(PKGS))) -lm -ldl
# The captcha faces compiled in (render/fonts.S): Debian's font packages.
FONTS	 = /usr/share/fonts/truetype
DEJAVUDIR	?= $(FONTS)/dejavu
LIBERATIONDIR	?= $(FONTS)/liberation2
NOTODIR		?= $(FONTS)/noto
ASFLAGS	+= -DDEJAVUDIR='"$(DEJAVUDIR)"' -DLIBERATIONDIR='"$(LIBERATIONDIR)"' \
	   -DNOTODIR='"$(NOTODIR)"'

B	 = build
# make test SANITIZE=1: everything built with ASan and UBSan into
# build-san/, and the whole suite, integration included, run on it.
ifeq ($(FUZZ),1)
# The library as the libFuzzer harnesses link it (make fuzz).
B	 = build-fuzz
CC	 = clang
SAN	 = -fsanitize=fuzzer-no-link,address,undefined \
	   -fno-sanitize-recover=undefined -fno-omit-frame-pointer
override CFLAGS	+= $(SAN)
override LDFLAGS += $(SAN)
else ifeq ($(SANITIZE),1)
B	 = build-san
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
override CFLAGS	+= $(SAN)
override LDFLAGS += $(SAN)
export ASAN_OPTIONS ?= abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif
# The SMS sender's daemon (core/smsd.c, core/delivery.c) is program code,
# linked into the two programs that run it, not into the library.
SMSD_SRCS = core/smsd.c core/delivery.c
LIB_SRCS = $(filter-out $(SMSD_SRCS),$(wildcard core/*.c)) $(wildcard store/*.c) \
	   $(filter-out sms/vcode-smsd.c,$(wildcard sms/*.c)) \
	   render/render.c render/kernel.c render/audio.c render/sheet.c render/util.c
LIB_OBJS = $(LIB_SRCS:%.c=$(B)/%.o) $(B)/render/fonts.o $(B)/render/clips.o
SMSD_OBJS = $(SMSD_SRCS:%.c=$(B)/%.o)
VCODED_OBJS = $(patsubst %.c,$(B)/%.o,$(wildcard fcgi/*.c)) $(SMSD_OBJS)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all run stop test unit valgrind integration bench benchfcgi benchdeflate attack fraudsim deps \
	clean pkgcheck fuzz fuzzers install uninstall testdeps loadtest
all: $(B)/vcoded $(B)/vcode-smsd $(B)/vcode-render

$(B)/%.o: %.c $(wildcard */*.h) | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/render/fonts.o: render/fonts.S
	@mkdir -p $(@D)
	$(CC) $(ASFLAGS) -c -o $@ $<

$(B)/render/clips.o: render/clips.S $(wildcard render/clips/*.raw)
	@mkdir -p $(@D)
	$(CC) $(ASFLAGS) -DCLIPDIR='"$(CURDIR)/render/clips"' -c -o $@ $<

$(B)/libvcode.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/vcoded: $(VCODED_OBJS) $(B)/libvcode.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/vcode-smsd: $(B)/sms/vcode-smsd.o $(SMSD_OBJS) $(B)/libvcode.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/vcode-render: $(B)/render/vcode-render.o $(B)/libvcode.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libvcode.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags cmocka) \
	    $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

pkgcheck:
	@pkg-config --exists --print-errors $(PKGS) || \
	    { echo "libraries missing: make deps installs them" >&2; exit 1; }

# Install what is missing (Debian), then build.
deps:
	@sh deploy/deps.sh

run: deps all
	@sh deploy/run.sh

stop:
	@sh deploy/run.sh stop

testdeps:
	@sh deploy/deps.sh test

test: testdeps all $(UNIT_BINS)
	@VCODED=$(CURDIR)/$(B)/vcoded sh tests/run.sh $(UNIT_BINS)

unit: all $(UNIT_BINS)
	@sh tests/run.sh --unit-only $(UNIT_BINS)

# The unit tests under valgrind's memcheck: any error or leak fails one.
# memcheck leaves a free() defined in a test binary in place (test_wipe
# watches what is freed with one).
valgrind: all $(UNIT_BINS)
	@command -v valgrind >/dev/null || { echo "make valgrind needs" \
	    "valgrind (apt-get install valgrind)" >&2; exit 1; }
	@VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite \
	    --soname-synonyms=somalloc=nouserintercepts" \
	    sh tests/run.sh --unit-only $(UNIT_BINS)

bench: deps all $(B)/tests/nothing
	@sh deploy/deps.sh load
	@$(MAKE) -s $(B)/tests/deflate
	@VCODED=$(CURDIR)/$(B)/vcoded NOTHING=$(CURDIR)/$(B)/tests/nothing \
	    DEFLATE=$(CURDIR)/$(B)/tests/deflate sh tests/bench/bench.sh

# The captcha PNG's deflate four ways on the rows of 300 captchas
# (tests/bench/deflate.c; libdeflate, for the comparison, from deps.sh load).
benchdeflate: deps all
	@sh deploy/deps.sh load
	@$(MAKE) -s $(B)/tests/deflate
	@d=$$(mktemp -d) && $(B)/vcode-render -n 300 -o "$$d" >/dev/null && \
	    $(B)/tests/deflate "$$d"; rc=$$?; rm -rf "$$d"; exit $$rc

$(B)/tests/deflate: tests/bench/deflate.c | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpng -lz -ldeflate -lisal

# make bench's first figures alone: vcoded's captcha, audio and SMS routes
# against a FastCGI responder that does nothing and against the seed's
# Flask view under gunicorn, behind the same nginx (tests/bench/fcgi.sh).
benchfcgi: deps all $(B)/tests/nothing
	@sh deploy/deps.sh load
	@VCODED=$(CURDIR)/$(B)/vcoded bash tests/bench/fcgi.sh \
	    $(CURDIR)/$(B)/tests/nothing

$(B)/tests/nothing: tests/bench/nothing.c | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -lfcgi

# Not part of make test: trains a network on this renderer (~25 minutes).
attack: all
	@sh tests/bench/cnn.sh

# People and a bot against the real stack, fraud guard off and enforcing
# (about 20 minutes; FRAUDSIM_ONLY, FRAUDSIM_MODES: see the script).
fraudsim: all
	@sh tests/fraudsim/fraudsim.sh

# Load and faults against the real stack under wrk: each route at full
# load, then both while a worker is killed, Redis restarts, the provider
# is away (and a Sentinel primary dies, when the build has Sentinel);
# worker memory, and every accepted SMS delivered once (6 to 8 minutes;
# PHASE_SECONDS and the other knobs: tests/load/README.md).
loadtest: deps all
	@sh deploy/deps.sh load
	@VCODED=$(CURDIR)/$(B)/vcoded sh tests/load/loadtest.sh

# libFuzzer harnesses (Debian's clang), each run FUZZ_SECONDS from its
# seeds in tests/fuzz/corpus/.
FUZZERS	 = request query xff config ccp aliyun tencent outbox retry
FUZZ_SECONDS ?= 30
fuzz: deps
	@command -v clang >/dev/null || { echo "make fuzz needs Debian's" \
	    "clang and libclang-rt-14-dev (apt-get install clang" \
	    "libclang-rt-14-dev)" >&2; exit 1; }
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) \
	    $(FUZZERS:%=build-fuzz/fuzz_%)

fuzzers: $(FUZZERS:%=$(B)/fuzz_%)

$(B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/outbox.h $(B)/libvcode.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< \
	    $(B)/libvcode.a $(LDLIBS)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the daemons to sbin, the
# tool to bin, the man pages, the deploy examples to share/doc/vcode, and
# the default configuration to SYSCONFDIR/vcode/vcode.conf unless one is
# there (then it is left alone and the default lands beside it as
# vcode.conf.default). make uninstall removes what install put, and the
# configuration only if it is still the default.
PREFIX	?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/vcode
INSTALL	?= install
MANS	 = deploy/man/vcode-render.1 deploy/man/vcode.conf.5 \
	   deploy/man/vcoded.8 deploy/man/vcode-smsd.8
DOCS	 = README.md deploy/vcode.conf deploy/nginx.conf.in
DOCDIRS	 = $(wildcard deploy/apache deploy/prometheus deploy/logrotate)
UNITS	 = $(wildcard deploy/systemd/*.in)
CONFDST	 = $(DESTDIR)$(SYSCONFDIR)/vcode/vcode.conf

install: all
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/vcode
	$(INSTALL) -m 755 $(B)/vcoded $(B)/vcode-smsd $(DESTDIR)$(PREFIX)/sbin/
	$(INSTALL) -m 755 $(B)/vcode-render $(DESTDIR)$(PREFIX)/bin/
	$(INSTALL) -m 755 deploy/smoke.sh $(DESTDIR)$(PREFIX)/bin/vcode-smoke
	$(INSTALL) -m 644 deploy/man/vcode-render.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 deploy/man/vcode.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 644 deploy/man/vcoded.8 deploy/man/vcode-smsd.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 755 deploy/spawn-fcgi.sh $(DESTDIR)$(DOCDIR)/
	for d in $(DOCDIRS); do \
	    $(INSTALL) -d $(DESTDIR)$(DOCDIR)/$$(basename $$d) && \
	    $(INSTALL) -m 644 $$d/* $(DESTDIR)$(DOCDIR)/$$(basename $$d)/; \
	done
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/systemd
	$(INSTALL) -m 644 deploy/systemd/vcode.env.example \
	    $(DESTDIR)$(DOCDIR)/systemd/
	for u in $(UNITS); do \
	    sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' \
	        -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
	        >$(DESTDIR)$(DOCDIR)/systemd/$$(basename $$u .in) && \
	    chmod 644 $(DESTDIR)$(DOCDIR)/systemd/$$(basename $$u .in); \
	done
	@if [ -e $(CONFDST) ]; then \
	    $(INSTALL) -m 644 deploy/vcode.conf $(CONFDST).default; \
	    echo "$(CONFDST) exists: left as it is; the default is" \
	        "$(CONFDST).default"; \
	else \
	    $(INSTALL) -m 644 deploy/vcode.conf $(CONFDST); \
	fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/vcoded $(DESTDIR)$(PREFIX)/sbin/vcode-smsd \
	    $(DESTDIR)$(PREFIX)/bin/vcode-render \
	    $(DESTDIR)$(PREFIX)/bin/vcode-smoke \
	    $(DESTDIR)$(MANDIR)/man1/vcode-render.1 \
	    $(DESTDIR)$(MANDIR)/man5/vcode.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/vcoded.8 \
	    $(DESTDIR)$(MANDIR)/man8/vcode-smsd.8 $(CONFDST).default
	rm -rf $(DESTDIR)$(DOCDIR)
	@if [ -e $(CONFDST) ] && cmp -s deploy/vcode.conf $(CONFDST); then \
	    rm -f $(CONFDST); rmdir $(DESTDIR)$(SYSCONFDIR)/vcode 2>/dev/null; \
	elif [ -e $(CONFDST) ]; then \
	    echo "$(CONFDST) was changed: left in place"; \
	fi; true

clean:
	rm -rf build build-san build-fuzz
