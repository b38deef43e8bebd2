#!/usr/bin/env bash
# Compile-time cost of the attributes: builds a crate with 50 `#[generation_hook]` methods and
# the same crate without the attributes, and prints the wall time of each build of the crate
# itself (its dependencies are built first and not counted).
#
# Usage: scripts/compile-time.sh [runs]   (default 3 runs each; prints the median)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/target/compile-time"
runs="${1:-3}"
methods=50
mkdir -p "$work"

generate() { # generate <dir> <annotated: 0|1>
    local dir="$1" annotated="$2"
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "compile_time_$(basename "$dir")"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
mellea = { path = "$root" }

[workspace]
TOML
    {
        echo 'use mellea::generation::{BackendIdentity, GenerationRequest};'
        echo '#[derive(Debug)] pub struct Error;'
        echo 'impl From<mellea::PluginViolation> for Error { fn from(_: mellea::PluginViolation) -> Self { Error } }'
        echo 'pub struct Backend;'
        echo 'impl BackendIdentity for Backend { fn model_id(&self) -> &str { "m" } }'
        if [ "$annotated" = 1 ]; then echo '#[mellea::backend(provider = "bench")]'; fi
        echo 'impl Backend {'
        for i in $(seq 1 "$methods"); do
            if [ "$annotated" = 1 ]; then echo '    #[mellea::generation_hook(chat)]'; fi
            echo "    pub async fn generate_$i(&self, request: GenerationRequest) -> Result<String, Error> {"
            echo "        let n = request.messages.len() + $i;"
            echo '        Ok(format!("{n}"))'
            echo '    }'
        done
        echo '}'
    } > "$dir/src/lib.rs"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

time_build() { # time_build <dir> -> seconds of `cargo build` of the crate alone, median of runs
    local dir="$1"
    (cd "$dir" && CARGO_TARGET_DIR="$work/target" cargo build -q)   # dependencies
    for _ in $(seq 1 "$runs"); do
        touch "$dir/src/lib.rs"
        local start end
        start=$(date +%s.%N)
        (cd "$dir" && CARGO_TARGET_DIR="$work/target" cargo build -q)
        end=$(date +%s.%N)
        awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
    done | median
}

generate "$work/plain" 0
generate "$work/annotated" 1
plain=$(time_build "$work/plain")
annotated=$(time_build "$work/annotated")
echo "crate with $methods async methods, debug build of the crate alone (median of $runs):"
echo "  without attributes: ${plain} s"
echo "  with #[backend] / #[generation_hook]: ${annotated} s"
awk -v a="$annotated" -v p="$plain" -v n="$methods" \
    'BEGIN { printf "  per annotated method: %.1f ms\n", (a - p) * 1000 / n }'
