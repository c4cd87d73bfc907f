#!/usr/bin/env bash
# Checks the release binaries that `bun run release` wrote (not part of CI: slow, needs root and
# a few Debian packages):
#   - SHA256SUMS matches (sha256sum -c);
#   - readelf -l: the musl ones ask for /lib/ld-musl-<arch>.so.1, the others for ld-linux-<arch>;
#   - each binary that can run here does: `version --json` reports its target, and a short
#     `sup run` (companion `sleep 1000`) + `sup ctl status` + SIGTERM works, with libc reached
#     through bun:ffi (the arbiter re-executed itself through execve(2): SUP_ARBITER_EXEC is in
#     its environment; the companion got `limits = { nofile = 321 }` through prlimit(2)).
#     linux-x64: natively. linux-arm64: under qemu-aarch64 (binfmt_misc, so that sup can
#     re-execute itself; QEMU_LD_PREFIX=/usr/aarch64-linux-gnu). linux-x64-musl: under Debian's
#     musl loader (/lib/ld-musl-x86_64.so.1), with Debian's (glibc) libstdc++ through a small
#     compat shim, since Debian has no musl libstdc++ (on Alpine: apk add libstdc++).
#     linux-arm64-musl: readelf only (no aarch64 musl loader and libstdc++ here).
# Usage: scripts/verify-release.sh [DIR]        (DIR: dist/release)
#   MUSL_LIBC=/path/to/libc.so: run the musl x64 binary with that musl instead (bind-mounted over
#   Debian's in a private mount namespace), e.g. musl 1.2.5 from Debian trixie, as on Alpine.
# Needs: apt-get install -y binutils qemu-user qemu-user-binfmt libc6-arm64-cross musl gcc
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(cd "${1:-$ROOT/dist/release}" && pwd) || exit 2
FAILS=0
ok() { echo "  ok: $*"; }
bad() { echo "  FAIL: $*"; FAILS=$((FAILS + 1)); }
note() { echo "  note: $*"; }
WORK=$(mktemp -d /tmp/sup-verify.XXXXXX)
CLEANUP=()
cleanup() {
  for c in "${CLEANUP[@]}"; do eval "$c" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in sha256sum readelf; do
  command -v $tool >/dev/null || { echo "verify-release: $tool missing (apt-get install -y binutils)"; exit 2; }
done
cd "$DIR" || exit 2
shopt -s nullglob
X64=(sup-*-linux-x64)
[ ${#X64[@]} -eq 1 ] || { echo "verify-release: expected one sup-<version>-linux-x64 in $DIR"; exit 2; }
VERSION=${X64[0]#sup-}
VERSION=${VERSION%-linux-x64}

echo "== SHA256SUMS ($DIR)"
if sha256sum -c SHA256SUMS; then ok "checksums match"; else bad "sha256sum -c SHA256SUMS"; fi
for t in linux-x64 linux-x64-musl linux-arm64 linux-arm64-musl; do
  grep -q "  sup-$VERSION-$t\$" SHA256SUMS || bad "SHA256SUMS does not list sup-$VERSION-$t"
done

echo "== program interpreter (readelf -l)"
interp() { readelf -l "$1" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p'; }
declare -A WANT=([linux-x64]=/lib64/ld-linux-x86-64.so.2 [linux-arm64]=/lib/ld-linux-aarch64.so.1
  [linux-x64-musl]=/lib/ld-musl-x86_64.so.1 [linux-arm64-musl]=/lib/ld-musl-aarch64.so.1)
for t in linux-x64 linux-x64-musl linux-arm64 linux-arm64-musl; do
  f=sup-$VERSION-$t
  [ -f "$f" ] || { bad "$f missing"; continue; }
  got=$(interp "$f")
  if [ "$got" = "${WANT[$t]}" ]; then ok "$f: $got ($(du -m "$f" | cut -f1) MiB)"; else bad "$f: interpreter '$got', want ${WANT[$t]}"; fi
done

# ms of the median of 5 runs of `$@ --version`
version_ms() {
  local i s e ts=()
  for i in 1 2 3 4 5; do
    s=$EPOCHREALTIME
    "$@" --version >/dev/null 2>&1
    e=$EPOCHREALTIME
    ts+=($(((${e/./} - ${s/./}) / 1000)))
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p
}

# smoke LABEL TARGET CMD...: version --json, then sup run + ctl status + SIGTERM
smoke() {
  local label=$1 target=$2
  shift 2
  local d=$WORK/$label
  mkdir -p "$d"
  local j
  j=$("$@" version --json 2>&1)
  if [[ $j == *"\"target\":\"$target\""* ]]; then ok "version --json: $j"; else bad "version --json: $j"; return; fi
  echo "  sup --version: $("$@" --version 2>&1) ($(version_ms "$@") ms, median of 5)"
  cat >"$d/sup.toml" <<EOF
[sup]
socket = "sup.sock"
[companions.sleeper]
command = ["sleep", "1000"]
limits = { nofile = 321 }
EOF
  "$@" run -c "$d/sup.toml" >"$d/run.log" 2>&1 &
  local pid=$! i status=""
  for i in $(seq 1 120); do
    status=$("$@" ctl -c "$d/sup.toml" status 2>&1) && [[ $status == *RUNNING* ]] && break
    sleep 0.5
  done
  if [[ $status == *RUNNING* ]]; then ok "sup run + sup ctl status:"; echo "$status" | sed 's/^/      /'; else bad "no RUNNING companion: $status"; fi
  if tr '\0' '\n' </proc/$pid/environ 2>/dev/null | grep -q '^SUP_ARBITER_EXEC='; then ok "libc execve: the arbiter re-executed itself"; else bad "the arbiter did not re-execute itself (libc not reached?)"; fi
  local spid nofile
  spid=$(echo "$status" | awk '$1 == "sleeper" { print $3 }')
  nofile=$(awk '/^Max open files/ { print $4, $5 }' /proc/$spid/limits 2>/dev/null)
  if [ "$nofile" = "321 321" ]; then ok "libc prlimit: companion $spid has nofile $nofile"; else bad "companion nofile '$nofile', want '321 321'"; fi
  kill -TERM $pid
  local t0=$EPOCHREALTIME rc
  wait $pid
  rc=$?
  local ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
  if [ $rc -eq 0 ]; then ok "SIGTERM: sup run exited 0 in $ms ms"; else bad "SIGTERM: sup run exited $rc"; sed 's/^/      /' "$d/run.log"; fi
  if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then bad "companion $spid left behind"; fi
  grep -E "STOPPED|exiting" "$d/run.log" | sed 's/^/      log: /'
}
export -f smoke ok bad note version_ms

echo "== linux-x64 (native)"
smoke x64 linux-x64 "$DIR/sup-$VERSION-linux-x64"

echo "== linux-arm64 (qemu-aarch64)"
A64=$DIR/sup-$VERSION-linux-arm64
if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  bad "needs qemu-aarch64 and /usr/aarch64-linux-gnu (apt-get install -y qemu-user libc6-arm64-cross)"
else
  echo "  qemu-aarch64 -L /usr/aarch64-linux-gnu $(basename "$A64") --version: $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$A64" --version 2>&1)"
  # sup re-executes itself (arbiter, manager): the kernel must hand aarch64 ELF files to qemu
  BF=/proc/sys/fs/binfmt_misc
  if [ ! -e $BF/register ] && mount -t binfmt_misc binfmt_misc $BF 2>/dev/null; then CLEANUP+=("umount $BF"); fi
  if [ ! -e $BF/qemu-aarch64 ] && [ -w $BF/register ] && [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    # registered for this run only; unregistered on exit
    if cat /usr/lib/binfmt.d/qemu-aarch64.conf >$BF/register; then CLEANUP=("echo -1 > $BF/qemu-aarch64" "${CLEANUP[@]}"); fi
  fi
  if [ -e $BF/qemu-aarch64 ]; then
    QEMU_LD_PREFIX=/usr/aarch64-linux-gnu smoke arm64 linux-arm64 "$A64"
  else
    note "no binfmt_misc handler for aarch64 (apt-get install -y qemu-user-binfmt; root): only --version was run"
  fi
fi

echo "== linux-x64-musl (musl loader${MUSL_LIBC:+: $MUSL_LIBC})"
M64=$DIR/sup-$VERSION-linux-x64-musl
if [ ! -e /lib/ld-musl-x86_64.so.1 ]; then
  note "no /lib/ld-musl-x86_64.so.1 (apt-get install -y musl): readelf only"
elif [ -e /lib/libc.musl-x86_64.so.1 ] || [ -e /etc/alpine-release ]; then
  smoke musl linux-x64-musl "$M64" # a real musl system
elif ! command -v gcc >/dev/null; then
  note "Debian's musl has no libstdc++ and gcc is missing for the compat shim (apt-get install -y gcc): readelf only"
else
  # Debian's libstdc++/libgcc_s are built for glibc: a few glibc-only symbols they want, for
  # this check only (a real musl system has its own libstdc++)
  C=$WORK/musl-compat
  mkdir -p "$C"
  cp "$(gcc -print-file-name=libstdc++.so.6)" "$(gcc -print-file-name=libgcc_s.so.1)" "$C/"
  cat >"$C/shim.c" <<'EOF'
#include <stddef.h>
char __libc_single_threaded = 0;
int __cxa_thread_atexit_impl(void (*f)(void *), void *o, void *d) { (void)f; (void)o; (void)d; return 0; }
int _dl_find_object(void *pc, void *r) { (void)pc; (void)r; return -1; }
struct { unsigned v, t, s, f[1]; } __cpu_model;
unsigned __cpu_features2[4];
int __cpu_indicator_init(void) { return 0; }
long getrandom(void *, size_t, unsigned);
unsigned arc4random(void) { unsigned r = 0; getrandom(&r, sizeof r, 0); return r; }
size_t strftime_l(char *, size_t, const char *, const void *, void *);
size_t __strftime_l(char *s, size_t n, const char *f, const void *t, void *l) { return strftime_l(s, n, f, t, l); }
EOF
  echo 'void __sup_verify_empty(void) {}' >"$C/empty.c"
  gcc -shared -fPIC -nostdlib -O2 -o "$C/libsupshim.so" "$C/shim.c" && gcc -shared -fPIC -nostdlib -o "$C/ld-linux-x86-64.so.2" "$C/empty.c" || bad "compat shim did not build"
  # sup's own re-executions need them; the companion (the host's glibc sleep) inherits them harmlessly
  export LD_PRELOAD=$C/libsupshim.so LD_LIBRARY_PATH=$C
  if [ -n "${MUSL_LIBC:-}" ]; then
    command -v unshare >/dev/null || bad "MUSL_LIBC needs unshare (util-linux)"
    TARGET_LIBC=$(readlink -f /lib/ld-musl-x86_64.so.1)
    echo "  musl: $(strings "$MUSL_LIBC" | grep -m1 -E '^1\.[0-9]+\.[0-9]+$' || echo "$MUSL_LIBC") over $TARGET_LIBC (private mount namespace)"
    WORK=$WORK DIR=$DIR VERSION=$VERSION FAILS=0 unshare -m --propagation private bash -c \
      "mount --bind '$MUSL_LIBC' '$TARGET_LIBC' && smoke musl linux-x64-musl '$M64'; exit \$FAILS" || FAILS=$((FAILS + $?))
  else
    echo "  musl: Debian's $(dpkg-query -W -f='${Version}' musl 2>/dev/null) ($(readlink -f /lib/ld-musl-x86_64.so.1))"
    smoke musl linux-x64-musl "$M64"
  fi
  unset LD_PRELOAD LD_LIBRARY_PATH
fi

echo "== linux-arm64-musl"
note "readelf only (running it needs an aarch64 musl loader and libstdc++)"

echo
if [ $FAILS -eq 0 ]; then echo "verify-release: all checks passed"; else echo "verify-release: $FAILS check(s) FAILED"; fi
[ $FAILS -eq 0 ]
