# ngx_ws_perf_module: build, test and bench entry points.
# NGINX_SRC=/path/to/nginx-x.y.z builds against another nginx source tree.

NGINX_SRC  ?= /usr/share/nginx/src
NGINX_BIN  ?= /usr/sbin/nginx
BUILD      ?= build
FUZZ_TIME  ?= 20
FUZZ_RUNS  ?= 10000000
FUZZ_TARGETS ?= frame msg wire lz4 envelope cmd reply slots deflate

# the files run a second time over TLS by prove-tls (t/lib/WsPerf/TLS.pm);
# not t/208, which does not use it, nor the files that start a second nginx
# node (t/401, t/404): that node takes the ports TLS needs
TLS_TESTS  = t/001-handshake.t $(wildcard t/1[0-9][0-9]-conf-*.t) \
             $(filter-out t/208-%,$(wildcard t/20[0-9]-*.t)) \
             t/220-sse.t t/230-presence.t t/301-status.t t/502-lz4-frames.t

SRCS    = $(wildcard ngx_ws_perf_module/*.c ngx_ws_perf_module/*.h) config
SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
          -fno-omit-frame-pointer
UNIT_CC = cc -std=c99 -Wall -Wextra -Werror -g -O1 $(SAN) -Ingx_ws_perf_module
FUZZ_CC = clang -g -O1 -fsanitize=fuzzer,address,undefined \
          -fno-sanitize-recover=undefined -Ingx_ws_perf_module

FUZZ_BINS = $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)

export NGINX_SRC NGINX_BIN

.PHONY: all deps lint lint-selftest unit fuzz-smoke fuzz fuzz-merge prove \
        prove-tls asan prove-asan test test-valgrind run stop bench bench-quick \
        bench-chat bench-100k soak clean
.PHONY: deps-run check-abi install uninstall deb test-deb doctor

all: $(BUILD)/ngx_ws_perf_module.so

$(BUILD)/ngx_ws_perf_module.so: $(SRCS)
	util/build.sh $(BUILD)

$(BUILD)/asan/ngx_ws_perf_module.so: $(SRCS)
	util/build.sh $(BUILD)/asan $(SAN)

deps:
	util/deps.sh

# 80 columns, no tabs, no trailing spaces, no // comments, and formats that
# ngx_vslprintf knows (util/lint.sh); the self-test first proves it can fail
lint: lint-selftest
	util/lint.sh

lint-selftest:
	util/lint-selftest.sh

deps-run:
	util/deps.sh run

check-abi: $(BUILD)/ngx_ws_perf_module.so
	@util/check-abi.sh $(BUILD)/ngx_ws_perf_module.so \
	    || { echo "check-abi: the module does not fit $(NGINX_BIN)"; exit 1; }

install: check-abi
	DESTDIR=$(DESTDIR) util/install.sh $(BUILD)/ngx_ws_perf_module.so

uninstall:
	DESTDIR=$(DESTDIR) util/install.sh -u

# dpkg-buildpackage on a copy, so that nothing lands next to the tree
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/src
	cp -r config ngx_ws_perf_module debian conf docs README.md LICENSE \
	    $(BUILD)/deb/src/
	cd $(BUILD)/deb/src && dpkg-buildpackage -b -us -uc \
	    > ../build.log 2>&1 || { tail -n 30 ../build.log; exit 1; }
	@ls $(BUILD)/deb/*.deb

test-deb: deb
	WS_PERF_DEB=$$(ls $(CURDIR)/$(BUILD)/deb/libnginx-mod-ws-perf_*.deb) \
	    util/prove.sh $(BUILD)/ngx_ws_perf_module.so t/605-deb-package.t

doctor:
	util/doctor.sh

$(BUILD)/test_frame: t/unit/test_frame.c ngx_ws_perf_module/ngx_ws_perf_frame.c \
                     ngx_ws_perf_module/ngx_ws_perf_frame.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_frame.c ngx_ws_perf_module/ngx_ws_perf_frame.c

$(BUILD)/test_msg: t/unit/test_msg.c t/unit/check.h \
                   ngx_ws_perf_module/ngx_ws_perf_msg.c \
                   ngx_ws_perf_module/ngx_ws_perf_msg.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_msg.c ngx_ws_perf_module/ngx_ws_perf_msg.c \
	    -ljansson

$(BUILD)/test_hist: t/unit/test_hist.c t/unit/check.h \
                    ngx_ws_perf_module/ngx_ws_perf_hist.c \
                    ngx_ws_perf_module/ngx_ws_perf_hist.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_hist.c ngx_ws_perf_module/ngx_ws_perf_hist.c \
	    -lm

$(BUILD)/test_lz4: t/unit/test_lz4.c t/unit/check.h \
                   ngx_ws_perf_module/ngx_ws_perf_lz4.c \
                   ngx_ws_perf_module/ngx_ws_perf_lz4.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_lz4.c ngx_ws_perf_module/ngx_ws_perf_lz4.c \
	    -llz4

$(BUILD)/test_cmd: t/unit/test_cmd.c t/unit/check.h \
                   ngx_ws_perf_module/ngx_ws_perf_cmd.c \
                   ngx_ws_perf_module/ngx_ws_perf_cmd.h \
                   ngx_ws_perf_module/ngx_ws_perf_msg.c \
                   ngx_ws_perf_module/ngx_ws_perf_msg.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_cmd.c ngx_ws_perf_module/ngx_ws_perf_cmd.c \
	    ngx_ws_perf_module/ngx_ws_perf_msg.c -ljansson

$(BUILD)/test_reply: t/unit/test_reply.c t/unit/check.h t/unit/resp.h \
                     ngx_ws_perf_module/ngx_ws_perf_reply.c \
                     ngx_ws_perf_module/ngx_ws_perf_reply.h \
                     ngx_ws_perf_module/ngx_ws_perf_msg.c \
                     ngx_ws_perf_module/ngx_ws_perf_frame.c \
                     ngx_ws_perf_module/ngx_ws_perf_lz4.c
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_reply.c \
	    ngx_ws_perf_module/ngx_ws_perf_reply.c \
	    ngx_ws_perf_module/ngx_ws_perf_msg.c \
	    ngx_ws_perf_module/ngx_ws_perf_frame.c \
	    ngx_ws_perf_module/ngx_ws_perf_lz4.c -lhiredis -ljansson -llz4

$(BUILD)/test_slots: t/unit/test_slots.c t/unit/check.h t/unit/resp.h \
                     ngx_ws_perf_module/ngx_ws_perf_slots.c \
                     ngx_ws_perf_module/ngx_ws_perf_slots.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_slots.c \
	    ngx_ws_perf_module/ngx_ws_perf_slots.c -lhiredis

$(BUILD)/test_deflate: t/unit/test_deflate.c t/unit/check.h \
                       ngx_ws_perf_module/ngx_ws_perf_deflate.c \
                       ngx_ws_perf_module/ngx_ws_perf_deflate.h
	@mkdir -p $(BUILD)
	$(UNIT_CC) -o $@ t/unit/test_deflate.c \
	    ngx_ws_perf_module/ngx_ws_perf_deflate.c -lz

unit: $(BUILD)/test_frame $(BUILD)/test_msg $(BUILD)/test_hist \
      $(BUILD)/test_lz4 $(BUILD)/test_cmd $(BUILD)/test_reply \
      $(BUILD)/test_slots $(BUILD)/test_deflate
	$(BUILD)/test_frame
	$(BUILD)/test_msg
	$(BUILD)/test_cmd
	$(BUILD)/test_reply
	$(BUILD)/test_slots
	$(BUILD)/test_hist
	$(BUILD)/test_lz4
	$(BUILD)/test_deflate

$(BUILD)/fuzz_frame: t/fuzz/fuzz_frame.c ngx_ws_perf_module/ngx_ws_perf_frame.c \
                     ngx_ws_perf_module/ngx_ws_perf_frame.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_frame.c ngx_ws_perf_module/ngx_ws_perf_frame.c

$(BUILD)/fuzz_msg: t/fuzz/fuzz_msg.c ngx_ws_perf_module/ngx_ws_perf_msg.c \
                   ngx_ws_perf_module/ngx_ws_perf_msg.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_msg.c ngx_ws_perf_module/ngx_ws_perf_msg.c -ljansson

$(BUILD)/fuzz_wire: t/fuzz/fuzz_wire.c ngx_ws_perf_module/ngx_ws_perf_msg.c \
                   ngx_ws_perf_module/ngx_ws_perf_msg.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_wire.c ngx_ws_perf_module/ngx_ws_perf_msg.c -ljansson

$(BUILD)/fuzz_lz4: t/fuzz/fuzz_lz4.c ngx_ws_perf_module/ngx_ws_perf_lz4.c \
                  ngx_ws_perf_module/ngx_ws_perf_lz4.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_lz4.c ngx_ws_perf_module/ngx_ws_perf_lz4.c -llz4

$(BUILD)/fuzz_envelope: t/fuzz/fuzz_envelope.c \
                       ngx_ws_perf_module/ngx_ws_perf_msg.c \
                       ngx_ws_perf_module/ngx_ws_perf_msg.h \
                       ngx_ws_perf_module/ngx_ws_perf_frame.c \
                       ngx_ws_perf_module/ngx_ws_perf_frame.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_envelope.c \
	    ngx_ws_perf_module/ngx_ws_perf_msg.c \
	    ngx_ws_perf_module/ngx_ws_perf_frame.c -ljansson

$(BUILD)/fuzz_cmd: t/fuzz/fuzz_cmd.c ngx_ws_perf_module/ngx_ws_perf_cmd.c \
                   ngx_ws_perf_module/ngx_ws_perf_cmd.h \
                   ngx_ws_perf_module/ngx_ws_perf_msg.c \
                   ngx_ws_perf_module/ngx_ws_perf_msg.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_cmd.c ngx_ws_perf_module/ngx_ws_perf_cmd.c \
	    ngx_ws_perf_module/ngx_ws_perf_msg.c -ljansson

$(BUILD)/fuzz_reply: t/fuzz/fuzz_reply.c t/fuzz/fuzz_resp.h \
                     ngx_ws_perf_module/ngx_ws_perf_reply.c \
                     ngx_ws_perf_module/ngx_ws_perf_reply.h \
                     ngx_ws_perf_module/ngx_ws_perf_msg.c \
                     ngx_ws_perf_module/ngx_ws_perf_msg.h \
                     ngx_ws_perf_module/ngx_ws_perf_frame.c \
                     ngx_ws_perf_module/ngx_ws_perf_lz4.c
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_reply.c ngx_ws_perf_module/ngx_ws_perf_reply.c \
	    ngx_ws_perf_module/ngx_ws_perf_msg.c \
	    ngx_ws_perf_module/ngx_ws_perf_frame.c \
	    ngx_ws_perf_module/ngx_ws_perf_lz4.c -lhiredis -ljansson -llz4

$(BUILD)/fuzz_slots: t/fuzz/fuzz_slots.c t/fuzz/fuzz_resp.h \
                     ngx_ws_perf_module/ngx_ws_perf_slots.c \
                     ngx_ws_perf_module/ngx_ws_perf_slots.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_slots.c \
	    ngx_ws_perf_module/ngx_ws_perf_slots.c -lhiredis

$(BUILD)/fuzz_deflate: t/fuzz/fuzz_deflate.c \
                       ngx_ws_perf_module/ngx_ws_perf_deflate.c \
                       ngx_ws_perf_module/ngx_ws_perf_deflate.h
	@mkdir -p $(BUILD)
	$(FUZZ_CC) -o $@ t/fuzz/fuzz_deflate.c \
	    ngx_ws_perf_module/ngx_ws_perf_deflate.c -lz

# each target runs from its kept corpus t/fuzz/corpus/NAME and its seeds;
# what it finds goes to $(BUILD)/fuzz-corpus/NAME, and fuzz-merge keeps
# what adds coverage
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz-corpus/$$t; \
	    echo "fuzz_$$t: $(FUZZ_TIME) s"; \
	    $(BUILD)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	        $(BUILD)/fuzz-corpus/$$t t/fuzz/corpus/$$t t/fuzz/seeds-$$t; \
	done

fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz-corpus/$$t; \
	    echo "fuzz_$$t: $(FUZZ_RUNS) runs"; \
	    $(BUILD)/fuzz_$$t -runs=$(FUZZ_RUNS) -print_final_stats=1 \
	        $(BUILD)/fuzz-corpus/$$t t/fuzz/corpus/$$t t/fuzz/seeds-$$t; \
	done

fuzz-merge: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    rm -rf $(BUILD)/fuzz-merge/$$t; \
	    mkdir -p $(BUILD)/fuzz-merge/$$t $(BUILD)/fuzz-corpus/$$t; \
	    $(BUILD)/fuzz_$$t -merge=1 $(BUILD)/fuzz-merge/$$t \
	        t/fuzz/corpus/$$t $(BUILD)/fuzz-corpus/$$t; \
	    rm -rf t/fuzz/corpus/$$t; \
	    mv $(BUILD)/fuzz-merge/$$t t/fuzz/corpus/$$t; \
	done

prove: $(BUILD)/ngx_ws_perf_module.so
	util/prove.sh $(BUILD)/ngx_ws_perf_module.so

prove-tls: $(BUILD)/ngx_ws_perf_module.so
	WS_PERF_TLS=1 util/prove.sh $(BUILD)/ngx_ws_perf_module.so $(TLS_TESTS)

# the files run a second time on the other engine (t/lib/WsPerf/Engine.pm):
# a file opts in with "use WsPerf::Engine;" (its blocks run without Redis:
# again with it, and against a Redis Cluster) or "use WsPerf::Engine
# 'redis';" (again without it)
ENGINE_REDIS_TESTS = $(shell grep -l "^use WsPerf::Engine;" t/*.t)
ENGINE_SHM_TESTS   = $(shell grep -l "^use WsPerf::Engine 'redis';" t/*.t)
# both, and the Redis files that take the cluster swap only
ENGINE_CLUSTER_TESTS = $(ENGINE_REDIS_TESTS) $(ENGINE_SHM_TESTS) \
    $(shell grep -l "^use WsPerf::Engine 'redis', 'cluster';" t/*.t)

.PHONY: prove-engines
prove-engines: $(BUILD)/ngx_ws_perf_module.so
	WS_PERF_ENGINE=redis util/prove.sh $(BUILD)/ngx_ws_perf_module.so \
	    $(ENGINE_REDIS_TESTS)
	WS_PERF_ENGINE=shm util/prove.sh $(BUILD)/ngx_ws_perf_module.so \
	    $(ENGINE_SHM_TESTS)
	WS_PERF_ENGINE=cluster util/prove.sh $(BUILD)/ngx_ws_perf_module.so \
	    $(ENGINE_CLUSTER_TESTS)

asan: $(BUILD)/asan/ngx_ws_perf_module.so

# every file but the load tool's own (t/03?-bench-*.t: what they check is
# wsbench's counting, and their loads beside the other suites would only
# slow those)
ASAN_TESTS = $(filter-out $(wildcard t/03?-bench-*.t),$(wildcard t/*.t))

prove-asan: $(BUILD)/asan/ngx_ws_perf_module.so
	WS_PERF_SANITIZE=1 util/prove.sh $(BUILD)/asan/ngx_ws_perf_module.so \
	    $(ASAN_TESTS)

test-valgrind: $(BUILD)/ngx_ws_perf_module.so
	TEST_NGINX_USE_VALGRIND=1 util/prove.sh $(BUILD)/ngx_ws_perf_module.so

# the sanitizer suite runs beside the others, on ports and a servroot of
# its own (t/ takes every port from these), its output in a log shown
# when both are done: the suites mostly wait, and this halves the time
ASIDE_ENV = TEST_NGINX_PORT=3101 TEST_NGINX_REDIS_PORT=6701 \
    TEST_NGINX_CLUSTER_PORT=7701 TEST_NGINX_FAKE_REDIS_PORT=6801 \
    TEST_NGINX_SERVROOT=$(CURDIR)/t/servroot-asan

test: deps
	$(MAKE) lint all asan unit fuzz-smoke
	@# the load tool t/03* runs, built once before two suites share it
	$(MAKE) -s -C bench/wsbench OUT=$(CURDIR)/build/bench
	$(MAKE) -s -C bench/wsbench OUT=$(CURDIR)/build/bench floor
	@echo "prove-asan and prove-tls run beside prove and prove-engines;" \
	    "their output: $(BUILD)/prove-asan.log"
	@$(ASIDE_ENV) $(MAKE) --no-print-directory prove-asan prove-tls \
	    > $(BUILD)/prove-asan.log 2>&1 & aside=$$!; \
	rc=0; $(MAKE) prove prove-engines || rc=$$?; \
	arc=0; wait $$aside || arc=$$?; \
	echo "=== prove-asan, prove-tls ($(BUILD)/prove-asan.log)"; \
	cat $(BUILD)/prove-asan.log; \
	[ $$rc = 0 ] || { echo "make test: a suite failed"; exit 1; }; \
	[ $$arc = 0 ] || { echo "make test: prove-asan or prove-tls failed"; exit 1; }
	$(MAKE) test-deb

run: deps-run all
	util/run.sh

stop:
	-$(NGINX_BIN) -p $(CURDIR)/$(BUILD)/run/ -c conf/demo.conf -s quit
	-[ -f $(BUILD)/run/redis/redis.pid ] \
	    && kill $$(cat $(BUILD)/run/redis/redis.pid)

bench:
	BUILD=$(BUILD) bench/run.sh

# ws_perf alone on a few short scenarios, compared with bench/baseline.json;
# fails on a regression (BENCH_QUICK_* and BENCH_PORT: bench/run.sh)
bench-quick:
	BUILD=$(BUILD) BENCH_QUICK=1 bench/run.sh

# the chat scenarios, ws_perf and nchan in Redis mode, 2 and 4 workers,
# plain and TLS; BENCH_RUNS, BENCH_CHAT_ROWS, BENCH_CHAT_SERVERS,
# BENCH_PORT, BENCH_TLS_PORT, BENCH_REDIS_PORT: bench/run-chat.sh
bench-chat:
	BUILD=$(BUILD) bench/run-chat.sh

# 100,000 subscribers on six workers in Redis mode: ws_perf, nchan and
# bench/sendfloor; writes bench/RESULTS-100k.md (BENCH_PORT 8390,
# BENCH_REDIS_PORT 6393, BENCH_RUNS 1, BENCH_100K_*: bench/run-100k.sh)
bench-100k:
	BUILD=$(BUILD) bench/run-100k.sh

# SOAK_MINUTES (30), SOAK_CONNECTIONS (10000): bench/soak.sh
soak:
	bench/soak.sh

clean:
	rm -rf $(BUILD) t/servroot*
