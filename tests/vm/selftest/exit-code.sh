#!/bin/bash
# Harness self-test: exits with the code given as $1, after showing what the guest looks like.
set -euo pipefail
echo "in guest: $(uname -r) pwd=$PWD RDP_SRC=$RDP_SRC VMOUT=$VMOUT args=$*"
exit "${1:-0}"
