#!/bin/bash
# Harness self-test: never ends on its own; vm-run --timeout must kill the VM and exit 124.
set -euo pipefail
echo "hanging on purpose"
sleep infinity
