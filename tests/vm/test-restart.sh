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
# Then: a restart with a configuration that gives the gateway a target port (issue 13) keeps the
# live device as it was served (the only port: no TPGS, no port designators), as a reload
# would, and says so; the device re-created gets the configured port.
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

# ---- the port a live device was served as survives a restart ----
# tpgs: the TPGS field of the standard INQUIRY through the tcm_loop disk
tpgs() { sg_inq "/dev/$(rdp_loop_disk)" | sed -n 's/.*TPGS=\([0-3]\).*/\1/p'; }
vm_assert_eq 0 "$(tpgs)" "TPGS of lun0, served as the only port"
cat >/tmp/ports.conf <<'EOT'
[defaults]
target_port = 2
target_ports = 2
EOT
pid=$(pgrep -x tcmu-rdpd)
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
served=$(grep -c "serving /dev/uio" "$RDP_LOG" || true)
"$RDPD" --log-level debug --config /tmp/ports.conf >>"$RDP_LOG" 2>&1 &
_served_again() { (($(grep -c "serving /dev/uio" "$RDP_LOG" || true) > served)); }
vm_wait 60 _served_again || vm_fail "the daemon started with target_port 2 of 2 did not adopt lun0"
vm_assert_eq 0 "$(tpgs)" "TPGS of lun0 after a restart whose configuration gives it port 2 of 2"
grep -q "lun lun0: still target_port 0 of 1, as served before this daemon started (configured: 2 of 2)" "$RDP_LOG" ||
	vm_fail "the restart did not say that lun0 keeps its port"
vm_targetcli >/dev/null <<EOT
/loopback/$RDP_LOOP_WWN/luns delete lun0
/backstores/user:rdp delete lun0
/backstores/user:rdp create name=lun0 size=128M cfgstring=wwid=$WWID
/loopback/$RDP_LOOP_WWN/luns create /backstores/user:rdp/lun0
EOT
_tpgs_is() { [[ $(tpgs) == "$1" ]]; }
vm_wait 60 _tpgs_is 1 || vm_fail "lun0 re-created is not served as port 2 of 2 (TPGS $(tpgs))"
vm_log "a restart kept lun0 as the only port; re-created, it is port 2 of 2"
RDP_PID=$(pgrep -x tcmu-rdpd)
echo "RESULT restart: 2 kill -9 + 2 SIGTERM, each restarted; $figures; ring resets $resets (after kill -9), clean resumes $resumed"
