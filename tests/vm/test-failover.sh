#!/bin/bash
# A path fails and returns under a verifying write load: the initiator sees no error, verify
# passes, the daemon logs the path failing and coming back, and the front-end VPD 0x83 is the
# same before and after. Prints the figures: I/O count, errors, worst completion latency.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
cat >/tmp/rdp.conf <<EOT
[defaults]
checker_interval = 2
# path 1 is ALUA non-optimized and carries no I/O: only the checker sees it fail, so it must
# not back off past the 4 s outage
max_checker_interval = 2
EOT
rdp_start --config /tmp/rdp.conf

rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
vpd_before=$(rdp_vpd83 "$disk")
[[ -n $vpd_before ]] || vm_fail "no VPD 0x83 from $disk"

# Faults while fio runs: each path in turn goes offline for a few seconds.
(
	for i in 0 1 0 1 0; do
		sleep 3
		vm_log "path $i offline"
		vm_path_offline "$i"
		sleep 4
		vm_log "path $i online"
		vm_path_online "$i"
	done
) &
faults=$!
rc=0
rdp_fio failover "$disk" --size=96M --time_based --runtime=40 --verify_backlog=128 --eta=never || rc=$?
wait "$faults"
figures=$(rdp_fio_figures failover)
vm_log "fio: $figures (exit $rc)"
((rc == 0)) || vm_fail "fio failed during failover"
[[ $figures == *" errors=0 "* ]] || vm_fail "fio saw errors: $figures"

# the daemon saw the paths fail and come back
grep -Eq "path ${PATH_SG[0]} active -> failed" "$RDP_LOG" || vm_fail "no failure of ${PATH_SG[0]} logged"
grep -Eq "path ${PATH_SG[1]} active -> failed" "$RDP_LOG" || vm_fail "no failure of ${PATH_SG[1]} logged"
vm_wait 20 grep -Eq "path ${PATH_SG[0]} checking -> active" "$RDP_LOG" ||
	vm_fail "${PATH_SG[0]} did not come back"

vpd_after=$(rdp_vpd83 "$disk")
vm_assert_eq "$vpd_before" "$vpd_after" "front-end VPD 0x83 before/after failover"
summary=$(rdp_summary)
echo "$summary"
[[ $(grep -c "summary path=.* state=active" <<<"$summary") == 2 ]] ||
	vm_fail "both paths should be active at the end"
failovers=$(sed -n 's/.*summary lun=lun0 .* failovers=\([0-9]*\).*/\1/p' <<<"$summary")
# the daemon keeps serving: at power-off the kernel syncs the tcm_loop disk through it
echo "RESULT failover: $figures failovers=$failovers"
