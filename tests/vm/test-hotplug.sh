#!/bin/bash
# Hotplug: a LUN given by WWID; during a verifying load a new scsi_debug host appears with the
# same WWID (its sg device becomes a path and carries I/O), then a path's device is deleted (it
# is failed and removed). No error reaches the initiator.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
printf '[defaults]\nchecker_interval = 2\ngrouping = multibus\n' >/tmp/rdp.conf
rdp_start --config /tmp/rdp.conf
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
grep -q "hotplug: watching" "$RDP_LOG" || vm_fail "no hotplug monitor"

count_paths() {
	"$RDPCTL" show paths --json | python3 -c '
import json, sys
lun = json.load(sys.stdin)["luns"][0]
print(len(lun["paths"]), " ".join("%s:%s:%s" % (p["dev"], p["state"], p["stats"]["cmds"]) for p in lun["paths"]))'
}
(
	sleep 4
	vm_log "adding a scsi_debug host"
	echo 1 >/sys/bus/pseudo/drivers/scsi_debug/add_host
	sleep 8
	vm_log "deleting path 0's device (${PATH_SG[0]})"
	echo 1 >"/sys/class/scsi_generic/${PATH_SG[0]##*/}/device/delete"
) &
changer=$!
rc=0
rdp_fio hotplug "$disk" --size=64M --time_based --runtime=20 --verify_backlog=128 --eta=never || rc=$?
wait "$changer"
figures=$(rdp_fio_figures hotplug)
vm_log "fio: $figures (exit $rc)"
((rc == 0)) || vm_fail "fio failed across hotplug"
[[ $figures == *" errors=0 "* ]] || vm_fail "errors across hotplug: $figures"
new=$(sed -n 's/.*lun lun0: new path \(\/dev\/sg[0-9]*\) (hotplug).*/\1/p' "$RDP_LOG" | head -1)
[[ -n $new ]] || vm_fail "no path added by hotplug"
grep -q "path ${PATH_SG[0]} removed" "$RDP_LOG" || vm_fail "${PATH_SG[0]} not removed after delete"
read -r n list <<<"$(count_paths)"
vm_log "paths now ($n): $list"
((n == 2)) || vm_fail "expected 2 paths after add + delete, got $n: $list"
[[ $list == *"$new:active:"* ]] || vm_fail "new path $new not active: $list"
newcmds=$(grep -o "$new:active:[0-9]*" <<<"$list" | cut -d: -f3)
((newcmds > 0)) || vm_fail "new path $new carried no I/O"
echo "RESULT hotplug: $figures; $new joined and carried $newcmds cmds; ${PATH_SG[0]} removed"
