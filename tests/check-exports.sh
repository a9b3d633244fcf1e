#!/bin/sh
# check-exports.sh LIBFUNAD FUNAD_H — the shared library exports exactly the functions that
# funad.h declares: one added to the header but not to core/funad.map would be missing for
# applications, and an internal one exported would become part of the ABI.
set -eu
lib=$1 header=$2
declared=$(sed -n 's/^[A-Za-z].*[ *]\(funad_[a-z0-9_]*\) (.*/\1/p' "$header" | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort -u)
if [ "$declared" != "$exported" ]; then
  echo "declared in $header but not exported:"
  printf '%s\n' "$declared" | grep -vxF -e "$exported" || true
  echo "exported but not declared:"
  printf '%s\n' "$exported" | grep -vxF -e "$declared" || true
  exit 1
fi
echo "$(printf '%s\n' "$exported" | wc -l) functions exported, as declared"
