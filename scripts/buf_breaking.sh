#!/usr/bin/env bash
# buf's breaking-change check on every commit that touched protos/, each against its parent, so a
# field removed or renumbered anywhere in history is caught (not only in the last commit), and the
# working tree against HEAD.
set -euo pipefail
buf="$(realpath "${1:-node_modules/.bin/buf}")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checked=0
for commit in $(git rev-list --reverse HEAD -- protos); do
  parent=$(git rev-parse "$commit^" 2>/dev/null) || continue
  git cat-file -e "$parent:protos/buf.yaml" 2>/dev/null || continue
  rm -rf "$tmp/protos" && git archive "$commit" protos | tar -x -C "$tmp"
  if ! "$buf" breaking "$tmp/protos" --against ".git#ref=$parent,subdir=protos"; then
    echo "buf breaking: $(git log -1 --format='%h %s' "$commit") breaks the contract of its parent" >&2
    exit 1
  fi
  checked=$((checked + 1))
done
"$buf" breaking protos --against ".git#ref=$(git rev-parse HEAD),subdir=protos"
echo "buf breaking: $checked changes to protos/ in history and the working tree are each compatible with the one before"
