#!/usr/bin/env bash
# Makes sure this machine can link the Native AOT binary, and prints the linker it will use: a C toolchain (clang,
# else gcc, which the ILCompiler falls back to) and zlib's headers (in .NET's documented prerequisites). What is
# missing is installed from Debian (clang, zlib1g-dev) when run as root; otherwise it says what to install.
# The one owner of that rule: tools/publish.sh (so ./run.sh, ./test.sh, bench/ and the soak) and
# tools/validate-deploy.sh (the emulated image build) call it.
set -euo pipefail
missing=()
command -v clang >/dev/null || command -v gcc >/dev/null || missing+=(clang)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "aot-toolchain: Native AOT needs a C toolchain: apt-get install ${missing[*]}" >&2; exit 1; }
  echo "aot-toolchain: installing Debian's ${missing[*]} for the Native AOT link" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; } >&2
fi
if command -v clang >/dev/null; then echo clang; else echo gcc; fi
