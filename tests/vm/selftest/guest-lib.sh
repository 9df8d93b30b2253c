#!/bin/bash
# Harness self-test of guest-lib.sh: per-path faults, delete/rescan, D-Bus, targetcli wrapper.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../guest-lib.sh
source "$RDP_SRC/tests/vm/guest-lib.sh"

# Reads one block from path I through its sd node, bypassing the page cache.
read_ok() { dd if="/dev/${PATH_SD[$1]}" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; }

vm_scsi_debug_paths 3
vm_assert_eq 3 "$PATH_COUNT" "PATH_COUNT"
vm_assert_eq "${PATH_SG[*]}" "$(bash -c 'echo "$VM_PATH_SG"')" "exported VM_PATH_SG"

vm_path_offline 1
vm_assert_eq offline "$(vm_path_state 1)" "state of path 1"
if read_ok 1; then vm_fail "I/O on offline path 1 succeeded"; fi
read_ok 0 || vm_fail "I/O on path 0 failed while path 1 is offline"
vm_path_online 1
read_ok 1 || vm_fail "I/O on path 1 failed after it came back"

old_sd=${PATH_SD[2]}
vm_path_delete 2
[[ ! -e /dev/$old_sd ]] || vm_fail "/dev/$old_sd still there after delete"
vm_rescan_host 2
read_ok 2 || vm_fail "I/O on path 2 failed after rescan"

# Errors inside a stdin batch do not change targetcli's exit code; the wrapper must see them.
vm_start_dbus
out=$(vm_targetcli <<'EOF'
/backstores/ramdisk create name=rd0 size=1M
/backstores/ramdisk ls
EOF
)
grep -q rd0 <<<"$out" || vm_fail "targetcli output lacks rd0: $out"
if (vm_targetcli <<<"/no/such/path ls") 2>/dev/null; then
	vm_fail "vm_targetcli did not detect a failing command"
fi
if (vm_targetcli <<<"/backstores/ramdisk create name=rd0 size=1M") 2>/dev/null; then
	vm_fail "vm_targetcli did not detect a duplicate create"
fi

# Index checks must stop the test, not write to a wrong sysfs file.
if (vm_path_offline 7) 2>/dev/null; then vm_fail "vm_path_offline 7 accepted"; fi

echo "guest-lib: ok" >"$VMOUT/result"
vm_log "guest-lib self-test passed"
