#!/usr/bin/env bash
# Spillway's one entry point: finds or installs what the build needs, then drives CMake and Maven.
#
#   ./build.sh            build everything (native library, jars)
#   ./build.sh demo       the main job: run the demo with embedded defaults
#   ./build.sh run -- ARGS   run the spillway CLI with ARGS (demo, trace, inspect, bench ...)
#   ./build.sh test       C tests under ASan+UBSan, all Java tests on JDK >= 22, base tests on JDK 17
#   ./build.sh samples    run the Panama interop samples
#   ./build.sh bench [--quick] [--out DIR]   run the benchmark suite, write a Markdown report with plots
#   ./build.sh clean
#
# Environment: JAVA_HOME (used if it is a JDK >= 22), JDK17_HOME (for the JDK 17 test run),
# SPILLWAY_SKIP_JDK17=1 (skip that run), SPILLWAY_LONG_TESTS=1 (long-running test variants).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# --- prerequisites -------------------------------------------------------------------------
java_feature() { # prints the feature version of the java binary $1, or 0
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -1 || echo 0
}

find_jdk22() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ] && [ "$(java_feature "$JAVA_HOME/bin/java")" -ge 22 ]; then
    echo "$JAVA_HOME"; return
  fi
  local best="" bestv=0 d v
  for d in /usr/lib/jvm/*/; do
    d=${d%/}
    [ -x "$d/bin/javac" ] || continue
    v=$(java_feature "$d/bin/java")
    if [ "${v:-0}" -ge 22 ] && [ "$v" -gt "$bestv" ]; then best=$d; bestv=$v; fi
  done
  echo "$best"
}

APT_UPDATED=0
apt_install() { # installs Debian packages when root, else prints the command and fails
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    if [ $APT_UPDATED -eq 0 ]; then say "apt-get update"; apt-get update -qq >/dev/null; APT_UPDATED=1; fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
  else
    die "missing prerequisites; install them with: sudo apt-get update && sudo apt-get install -y $*"
  fi
}

prerequisites() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v gcc >/dev/null || missing+=(gcc)
  command -v make >/dev/null || missing+=(make)
  command -v mvn >/dev/null || missing+=(maven)
  [ -f /usr/include/zstd.h ] || missing+=(libzstd-dev)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  JDK=$(find_jdk22)
  [ -n "$JDK" ] || die "no JDK >= 22 found (JAVA_HOME='${JAVA_HOME:-}', /usr/lib/jvm/*). Spillway builds with JDK 22+ (its FFM backend is compiled with --release 22); install one, e.g. Temurin 25, under /usr/lib/jvm or point JAVA_HOME at it."
  export JAVA_HOME=$JDK
  export PATH="$JAVA_HOME/bin:$PATH"
  # Maven 3.8's bundled Guava uses sun.misc.Unsafe; JDK 24+ warns about it unless allowed.
  if [ "$(java_feature "$JAVA_HOME/bin/java")" -ge 24 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
  say "JDK: $JAVA_HOME (Java $(java_feature "$JAVA_HOME/bin/java"))"
}

find_jdk17() {
  local d
  for d in "${JDK17_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/java-17-openjdk; do
    [ -n "$d" ] && [ -x "$d/bin/java" ] && [ "$(java_feature "$d/bin/java")" -eq 17 ] && { echo "$d"; return; }
  done
  echo ""
}

MVN=(mvn -B -q -Dstyle.color=never)

# Sums the Surefire XML reports under java/*/target and prints "LABEL: N passed, N failed, N skipped".
TOTAL_PASSED=0; TOTAL_FAILED=0; TOTAL_SKIPPED=0
surefire_summary() {
  local label=$1 t=0 f=0 e=0 s=0 x
  for x in java/*/target/surefire-reports/TEST-*.xml; do
    [ -f "$x" ] || continue
    t=$((t + $(grep -o '<testsuite [^>]*' "$x" | head -1 | sed -n 's/.* tests="\([0-9]*\)".*/\1/p')))
    f=$((f + $(grep -o '<testsuite [^>]*' "$x" | head -1 | sed -n 's/.* failures="\([0-9]*\)".*/\1/p')))
    e=$((e + $(grep -o '<testsuite [^>]*' "$x" | head -1 | sed -n 's/.* errors="\([0-9]*\)".*/\1/p')))
    s=$((s + $(grep -o '<testsuite [^>]*' "$x" | head -1 | sed -n 's/.* skipped="\([0-9]*\)".*/\1/p')))
  done
  local passed=$((t - f - e - s)) failed=$((f + e))
  say "$label: $passed passed, $failed failed, $s skipped"
  TOTAL_PASSED=$((TOTAL_PASSED + passed)); TOTAL_FAILED=$((TOTAL_FAILED + failed)); TOTAL_SKIPPED=$((TOTAL_SKIPPED + s))
  [ "$t" -gt 0 ] || die "$label ran no test"
}

# --- steps ---------------------------------------------------------------------------------
build() {
  say "building native library and jars"
  "${MVN[@]}" -DskipTests package
}

c_tests() {
  say "C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build/asan -DSPW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build/asan -j2 >/dev/null
  (cd build/asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure)
}

# libFuzzer on the C decode path, where a clang with its fuzzer runtime is installed; skipped (and said
# so) elsewhere, so a machine without clang still passes ./build.sh test.
fuzz_tests() {
  local cc="" c
  for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
    if command -v "$c" >/dev/null; then cc=$c; break; fi
  done
  if [ -z "$cc" ]; then
    say "libFuzzer run skipped: no clang (Debian: apt-get install clang libclang-rt-14-dev)"; return
  fi
  local runs=2000000 secs=20
  [ "${SPILLWAY_LONG_TESTS:-0}" = 1 ] && { runs=200000000; secs=600; }
  if ! cmake -S . -B build/fuzz -DCMAKE_C_COMPILER="$cc" -DSPW_SANITIZE=ON -DSPW_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
      -DSPW_FUZZ_RUNS=$runs -DSPW_FUZZ_SECONDS=$secs >/dev/null; then
    say "libFuzzer run skipped: configuring build/fuzz with $cc failed"; return
  fi
  if ! grep -q '^SPW_HAVE_LIBFUZZER:INTERNAL=1' build/fuzz/CMakeCache.txt; then
    say "libFuzzer run skipped: $cc cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"; return
  fi
  say "libFuzzer on spw_spill_decode / spw_decompress ($cc, ASan+UBSan, bounded run)"
  cmake --build build/fuzz -j2 --target fuzz_spill_decode fuzz_make_seeds >/dev/null
  (cd build/fuzz && ctest -L fuzz --output-on-failure)
}

java_tests() {
  say "Java tests on $("$JAVA_HOME/bin/java" -version 2>&1 | head -1) with -Xcheck:jni"
  local args="-Xcheck:jni -Dspillway.require.native=true"
  [ "${SPILLWAY_LONG_TESTS:-0}" = 1 ] && args="$args -Dspillway.long.tests=true"
  rm -rf java/*/target/surefire-reports # reports of removed or renamed tests would be counted again
  "${MVN[@]}" verify -Dspillway.test.jvmArgs="$args"
  surefire_summary "Java tests, JDK $(java_feature "$JAVA_HOME/bin/java")"
}

jdk17_tests() {
  [ "${SPILLWAY_SKIP_JDK17:-0}" = 1 ] && { say "JDK 17 run skipped (SPILLWAY_SKIP_JDK17=1)"; return; }
  local jdk17
  jdk17=$(find_jdk17)
  if [ -z "$jdk17" ]; then
    apt_install openjdk-17-jdk-headless
    jdk17=$(find_jdk17)
    [ -n "$jdk17" ] || die "no JDK 17 for the base-library test run (set JDK17_HOME)"
  fi
  say "base library tests on JDK 17 ($jdk17): the --release 17 classes, without the FFM part"
  rm -rf java/*/target/surefire-reports
  "${MVN[@]}" -pl java/core surefire:test -Djvm="$jdk17/bin/java" \
    -Dspillway.test.jvmArgs="-Xcheck:jni -Dspillway.require.native=true"
  surefire_summary "Java base-library tests, JDK 17"
}

# The native harness the report compares against (build/native/spw_bench, where the CLI looks for it).
native_bench() {
  say "building the native benchmark harness (build/native/spw_bench)"
  cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/native --target spw_bench -j2 >/dev/null
}

cli_jar() { ls "$ROOT"/java/cli/target/spillway-cli-*-all.jar 2>/dev/null | head -1; }

run_cli() {
  local jar
  jar=$(cli_jar)
  [ -n "$jar" ] || build
  jar=$(cli_jar)
  exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" "$@"
}

cmd=${1:-build}
[ $# -gt 0 ] && shift
case "$cmd" in
  build) prerequisites; build ;;
  test)
    prerequisites; c_tests; fuzz_tests; java_tests; jdk17_tests
    say "Java totals over both JDK runs (the C and fuzz tests report through ctest above):"
    echo "tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped" ;;
  demo) prerequisites; build; run_cli demo "$@" ;;
  run) prerequisites; [ "${1:-}" = "--" ] && shift; run_cli "$@" ;;
  bench) prerequisites; build; native_bench; run_cli bench "$@" ;;
  samples) prerequisites; "${MVN[@]}" -pl java/core,java/samples package -DskipTests -Dspillway.samples.run=true ;;
  clean) rm -rf build; command -v mvn >/dev/null && mvn -q clean || true ;;
  -h|--help|help) sed -n '2,14p' "$0" ;;
  *) die "unknown command '$cmd' (try: build, demo, run -- ARGS, test, samples, bench, clean)" ;;
esac
