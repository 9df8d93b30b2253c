#!/bin/bash
# Inside the demo VM: see examples/demo.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

say() { printf '\n== %s\n' "$*"; }

say "Two paths to one LUN (scsi_debug, two hosts, one store)"
vm_scsi_debug_paths 2 2>/dev/null

say "Starting tcmu-rdpd and exporting the LUN through TCMU (targetcli user:rdp, tcm_loop)"
rdp_start 2>/dev/null
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
echo "   initiator sees /dev/$disk, WWID $(tr -d '[:space:]' <"/sys/block/$disk/device/wwid")"
echo "   backing paths: ${PATH_SG[0]} (${PATH_SD[0]}), ${PATH_SG[1]} (${PATH_SD[1]})"

say "Writing with crc32c verification for 24 s; path 0 fails at 6 s and returns at 14 s"
(
	sleep 6
	echo "   >>> path 0 (${PATH_SG[0]}) goes OFFLINE"
	vm_path_offline 0
	sleep 8
	echo "   >>> path 0 (${PATH_SG[0]}) back ONLINE"
	vm_path_online 0
) &
faults=$!
(tail -n0 -f "$RDP_LOG" | grep --line-buffered -E "active -> failed|checking -> active" |
	sed -u 's/.*lun lun0: /   daemon: /') &
watch=$!
rc=0
rdp_fio demo "$disk" --size=96M --time_based --runtime=24 --verify_backlog=256 --eta=never || rc=$?
wait "$faults"
sleep 3
kill "$watch" 2>/dev/null || true

say "Summary"
figures=$(rdp_fio_figures demo)
summary=$(rdp_summary)
lun=$(grep "summary lun=" <<<"$summary" | sed 's/.*summary //')
read -r ios errs maxms _ <<<"$(sed 's/ios=\([0-9]*\) errors=\([0-9]*\) max_clat_ms=\([0-9.]*\).*/\1 \2 \3/' <<<"$figures")"
printf '   initiator: %s I/Os, %s errors, worst completion %s ms (fio exit %s)\n' "$ios" "$errs" "$maxms" "$rc"
printf '   gateway:   %s\n' "$lun"
grep "summary path=" <<<"$summary" | sed 's/.*summary /   /'
# the daemon keeps serving: at power-off the kernel syncs the tcm_loop disk through it
if ((rc == 0)) && [[ $errs == 0 ]]; then
	echo; echo "   The path fault never reached the initiator."
else
	echo; echo "   ERRORS reached the initiator"; exit 1
fi
