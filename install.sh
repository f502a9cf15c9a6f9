#!/usr/bin/env bash
# Build letta in release mode and install it as `letta` into ~/.local/bin (or $PREFIX/bin).
# Safe to run again: it rebuilds and replaces the binary atomically.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo was not found." >&2
  echo "Install Rust from https://rustup.rs (then open a new shell) and run ./install.sh again." >&2
  exit 1
fi

echo "Building letta (release)…"
cargo build --release --locked --manifest-path "$here/Cargo.toml"

mkdir -p "$bindir"
tmp="$bindir/.letta.tmp.$$"
cp "$here/target/release/letta" "$tmp"
chmod 755 "$tmp"
mv -f "$tmp" "$bindir/letta"

echo "Installed $("$bindir/letta" --version) to $bindir/letta"
case ":$PATH:" in
  *":$bindir:"*) echo "$bindir is on your PATH: run \`letta\` in a project to start." ;;
  *) echo "$bindir is NOT on your PATH. Add it, e.g.: echo 'export PATH=\"$bindir:\$PATH\"' >> ~/.bashrc" ;;
esac
