#!/usr/bin/env bash
# The layering of lib/ as lib/README.md states it: each folder includes only itself
# and the folders its table row allows ("all of the above": every row above it).
# Fails naming each include that runs against the table, so the README and the code
# cannot drift apart. Usage: check_includes.sh REPO_ROOT
set -euo pipefail
root=${1:?usage: check_includes.sh REPO_ROOT}
readme="$root/lib/README.md"
declare -A allowed
order=()
while IFS= read -r line; do
  folder=$(sed -E 's/^\| `([a-z_]+)\/` \|.*/\1/' <<<"$line")
  deps=$(awk -F'|' '{print $(NF-1)}' <<<"$line" | tr -d ' ')
  if [ "$deps" = "alloftheabove" ]; then
    deps="${order[*]}"
  else
    deps=$(tr ',' ' ' <<<"$deps" | sed 's/—//')
  fi
  allowed[$folder]=" $folder $deps "
  order+=("$folder")
done < <(grep -E '^\| `[a-z_]+/` \|' "$readme")
[ ${#order[@]} -gt 0 ] || { echo "layering: no folder table in $readme" >&2; exit 1; }

status=0
for dir in "$root"/lib/*/; do
  folder=$(basename "$dir")
  if [ -z "${allowed[$folder]+set}" ]; then
    echo "layering: lib/$folder/ has no row in lib/README.md" >&2
    status=1
    continue
  fi
  while IFS= read -r hit; do
    file=${hit%%:*}
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$hit")
    if [[ "${allowed[$folder]}" != *" $target "* ]]; then
      echo "layering: ${file#"$root"/} includes $target/, which lib/README.md does not allow for $folder/" >&2
      status=1
    fi
  done < <(grep -rHE '#include "[a-z_]+/' "$dir" || true)
done
[ $status -eq 0 ] && echo "layering: ${#order[@]} folders, every include as lib/README.md allows"
exit $status
