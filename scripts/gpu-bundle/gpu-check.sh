#!/bin/sh
# Osteon GPU check (npm run gpu-bundle): unpacks Node, Dawn's dawn.node and the bundled CLI into a
# temporary folder and runs `gpu-check` on the webgpu rung. Needs: Linux x86-64, glibc >= 2.34,
# tar + gzip, and a Vulkan driver for the GPU (NVIDIA, AMD/Intel Mesa >= 25). No network.
# Options go to gpu-check: --full, --slices N (512x512xN inference, 300), --python PATH, --json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/osteon-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
tar -xzf "$here/payload.tar.gz" -C "$work"
"$work/node" "$work/osteon-gpu.mjs" doctor --skip-selftest --require-webgpu >"$work/doctor.txt" 2>&1 || {
  echo "gpu-check: no usable WebGPU adapter:"; grep -i 'webgpu' "$work/doctor.txt" || cat "$work/doctor.txt"; exit 1; }
exec_rc=0
"$work/node" "$work/osteon-gpu.mjs" gpu-check --torch-ref "$work/unet_ref.py" "$@" || exec_rc=$?
exit $exec_rc
