#!/bin/bash
# Gateway core, end to end: targetcli creates user:rdp over two scsi_debug paths, a tcm_loop LUN
# carries a verifying fio job; bad creates (size beyond the LUN, then an unknown WWID while lun0
# serves) fail with a clear reason and lun0 keeps serving.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
rdp_start

# a backstore larger than the backing LUN (256 MiB): the daemon refuses the device. Before lun0
# exists: once lun0 serves these devices, a second backstore on them is refused earlier, by
# CheckConfig (a device serves one LUN; tests/vm/test-hostile.sh checks that).
out=$(targetcli /backstores/user:rdp create name=big size=512M cfgstring=wwid=$WWID 2>&1 || true)
vm_log "oversize create said: $out"
grep -q "refusing tcm-user/.*/big/rdp/.*larger than the backing LUN" "$RDP_LOG" ||
	vm_fail "daemon did not log why it refused the oversize backstore"
for e in /sys/kernel/config/target/core/user_*/big/enable; do
	[[ ! -e $e || $(<"$e") != 1 ]] || vm_fail "oversize backstore got enabled"
done
targetcli /backstores/user:rdp delete big >/dev/null 2>&1 || true

rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
vm_log "initiator disk: $disk"
grep -q "lun lun0: serving" "$RDP_LOG" || vm_fail "daemon did not log serving lun0"
size=$(blockdev --getsize64 "/dev/$disk")
vm_assert_eq 134217728 "$size" "initiator-side size"

# Identity reaches the initiator unchanged
wwid=$(tr -d '[:space:]' <"/sys/block/$disk/device/wwid")
vm_assert_eq "$WWID" "$wwid" "initiator-side wwid"

rdp_fio basic "$disk" || vm_fail "fio failed on the gateway LUN"
figures=$(rdp_fio_figures basic)
vm_log "fio: $figures"
[[ $figures == *" errors=0 "* ]] || vm_fail "fio reported errors: $figures"

# (d) a create naming a WWID no device has: refused by CheckConfig, with the reason
out=$(targetcli /backstores/user:rdp create name=bad1 size=16M cfgstring=wwid=naa.6000000000000bad 2>&1 || true)
vm_log "bad WWID create said: $out"
[[ $out == *"no SCSI generic device reports WWID naa.6000000000000bad"* ]] ||
	vm_fail "unknown-WWID create did not fail with the reason"
if compgen -G "/sys/kernel/config/target/core/user_*/bad1" >/dev/null; then
	vm_fail "bad1 backstore exists after a refused create"
fi


# the daemon still serves lun0
kill -0 "$RDP_PID" || vm_fail "daemon died"
rdp_fio basic2 "$disk" --size=8M || vm_fail "fio failed on lun0 after the bad creates"
vm_log "after bad creates: $(rdp_fio_figures basic2)"
rdp_summary
# the daemon keeps serving: at power-off the kernel syncs the tcm_loop disk through it
echo "RESULT basic: $figures"
