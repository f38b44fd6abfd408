#!/usr/bin/env bash
# The demo: the main job on generated traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
./build/ringfan --help
