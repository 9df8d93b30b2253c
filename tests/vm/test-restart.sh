#!/bin/bash
# Daemon restart under a verifying write load: kill -9, start again (as systemd's Restart= would,
# 1 s later). The new daemon adopts the device; commands the old one held are failed with BUSY by
# the kernel's ring reset and retried by the initiator. Nothing acknowledged is lost: fio's verify
# passes. Prints the initiator-visible errors and the worst stall.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
rdp_start
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
(
	for round in 1 2 3; do
		sleep 5
		vm_log "kill -9 tcmu-rdpd (round $round)"
		kill -9 "$(pgrep -x tcmu-rdpd)"
		sleep 1
		"$RDPD" --log-level debug >>"$RDP_LOG" 2>&1 &
		vm_log "restarted (pid $!)"
	done
) &
killer=$!
rc=0
rdp_fio restart "$disk" --size=64M --time_based --runtime=22 --verify_backlog=128 --eta=never || rc=$?
wait "$killer"
figures=$(rdp_fio_figures restart)
vm_log "fio: $figures (exit $rc)"
resets=$(grep -c "ring holds commands from before this daemon" "$RDP_LOG" || true)
adopted=$(grep -c "adopting existing device" "$RDP_LOG" || true)
((adopted == 3)) || vm_fail "expected 3 adoptions, saw $adopted"
((rc == 0)) || vm_fail "fio failed across daemon restarts: $figures"
[[ $figures == *" errors=0 "* ]] || vm_fail "initiator saw errors across restarts: $figures"
RDP_PID=$(pgrep -x tcmu-rdpd)
echo "RESULT restart: 3 kill -9 + restart; $figures; ring resets $resets"
