#!/bin/bash
# Daemon restart under a verifying write load.
# - kill -9, start again (as systemd's Restart= would, 1 s later), twice: the new daemon adopts
#   the device; commands the old one held are failed with BUSY by the kernel's ring reset and
#   retried by the initiator.
# - SIGTERM (systemctl stop/restart), start again, twice: the daemon reads no new command,
#   lets those in flight finish, leaves a clean-stop marker and exits; the next one takes the
#   ring as it is, serving what the kernel queued meanwhile: no ring reset, no BUSY.
# Nothing acknowledged is lost (fio's verify passes) and the initiator sees no error. Prints
# the initiator-visible errors, the worst stall, and the ring resets.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
rdp_start
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
(
	for sig in KILL KILL TERM TERM; do
		sleep 5
		pid=$(pgrep -x tcmu-rdpd)
		vm_log "kill -$sig tcmu-rdpd"
		kill -$sig "$pid"
		# a stopping daemon drains first: the next one starts when it is gone
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
		[[ $sig == KILL ]] && sleep 1
		"$RDPD" --log-level debug >>"$RDP_LOG" 2>&1 &
		vm_log "restarted (pid $!)"
	done
) &
killer=$!
rc=0
rdp_fio restart "$disk" --size=64M --time_based --runtime=30 --verify_backlog=128 --eta=never || rc=$?
wait "$killer"
figures=$(rdp_fio_figures restart)
vm_log "fio: $figures (exit $rc)"
resets=$(grep -c "ring holds commands from before this daemon" "$RDP_LOG" || true)
adopted=$(grep -c "adopting existing device" "$RDP_LOG" || true)
clean=$(grep -c "stopped cleanly: 1 of 1 device" "$RDP_LOG" || true)
resumed=$(grep -c "the previous daemon stopped cleanly" "$RDP_LOG" || true)
((adopted == 4)) || vm_fail "expected 4 adoptions, saw $adopted"
((rc == 0)) || vm_fail "fio failed across daemon restarts: $figures"
[[ $figures == *" errors=0 "* ]] || vm_fail "initiator saw errors across restarts: $figures"
((clean == 2)) || vm_fail "expected 2 clean stops, saw $clean: $(grep -E "stopping|stopped" "$RDP_LOG")"
((resumed == 2)) || vm_fail "expected 2 starts without a ring reset after a clean stop, saw $resumed"
# the kills reset the ring when it held commands (it may not have, at the moment of the kill)
((resets <= 2)) || vm_fail "$resets ring resets: a clean stop was followed by a reset"
grep "waiting up to\|previous daemon stopped cleanly" "$RDP_LOG" | sed 's/^/  /'
RDP_PID=$(pgrep -x tcmu-rdpd)
echo "RESULT restart: 2 kill -9 + 2 SIGTERM, each restarted; $figures; ring resets $resets (after kill -9), clean resumes $resumed"
