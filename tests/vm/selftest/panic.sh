#!/bin/bash
# Harness self-test: crashes the guest kernel; vm-run must report the panic and exit 125.
set -euo pipefail
echo "crashing the kernel on purpose"
echo c >/proc/sysrq-trigger
