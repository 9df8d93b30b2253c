#!/bin/bash
# A daemon started after the backstore exists adopts it, and a restarted one does again. The
# device and its tcm_loop LUN are made by hand in configfs (what rtslib does), with no daemon.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
core=/sys/kernel/config/target/core/user_7/early
mkdir -p "$core"
echo "dev_config=rdp/wwid=$WWID,dev_size=67108864" >"$core/control"
echo 1 >"$core/enable"
loop=/sys/kernel/config/target/loopback/$RDP_LOOP_WWN/tpgt_1
mkdir -p "$loop"
echo "naa.5001405000000002" >"$loop/nexus" # the I_T nexus first, or the LUN scan finds none
mkdir -p "$loop/lun/lun_0"
# Linking the LUN scans it: its INQUIRY waits in the ring until a daemon answers.
ln -s "$core" "$loop/lun/lun_0/early" &
link=$!
sleep 3
vm_log "backstore and tcm_loop LUN exist, the scan's commands wait in the ring; no daemon yet"

rdp_start
wait "$link" || vm_fail "linking the tcm_loop LUN failed"
grep -q "adopting existing device" "$RDP_LOG" || vm_fail "daemon did not adopt the device"
disk=$(rdp_loop_disk)
rdp_fio adopt1 "$disk" --size=16M || vm_fail "fio failed after adoption"
vm_log "first daemon: $(rdp_fio_figures adopt1)"

rdp_stop
rdp_start
[[ $(grep -c "adopting existing device" "$RDP_LOG") == 2 ]] || vm_fail "restarted daemon did not adopt"
rdp_fio adopt2 "$disk" --size=16M || vm_fail "fio failed after restart"
figures=$(rdp_fio_figures adopt2)
# the daemon keeps serving: at power-off the kernel syncs the tcm_loop disk through it
echo "RESULT adopt: $figures"
