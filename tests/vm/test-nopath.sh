#!/bin/bash
# All paths down. Shorter than the no_path_retry bound: I/O stalls and resumes with no error.
# Longer: I/O fails with the documented sense (NOT READY, LOGICAL UNIT COMMUNICATION FAILURE,
# 02/08/00) within the bound plus one checker interval; the daemon keeps answering, and I/O
# works again once a path returns, without restarting anything.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
cat >/tmp/rdp.conf <<EOT
[defaults]
checker_interval = 2
no_path_retry = 5
EOT
bound=10 # no_path_retry x checker_interval
rdp_start --config /tmp/rdp.conf
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
sgdev=/dev/$(basename "$(ls -d /sys/block/"$disk"/device/scsi_generic/sg*)")

# 1. both paths down for 4 s under a verifying load
(
	sleep 5
	vm_log "both paths offline"
	vm_path_offline 0
	vm_path_offline 1
	sleep 4
	vm_log "both paths online"
	vm_path_online 0
	vm_path_online 1
) &
faults=$!
rc=0
rdp_fio nopath "$disk" --size=64M --time_based --runtime=20 --verify_backlog=128 --eta=never || rc=$?
wait "$faults"
short=$(rdp_fio_figures nopath)
vm_log "short outage: $short (fio exit $rc)"
((rc == 0)) || vm_fail "fio failed across a short all-paths-down window"
[[ $short == *" errors=0 "* ]] || vm_fail "errors across a short outage: $short"

# 2. both paths down for longer than the bound: one READ(10) through the initiator's sg node
vm_path_offline 0
vm_path_offline 1
start=$(date +%s.%N)
out=$(timeout 60 sg_raw -r 512 "$sgdev" 28 00 00 00 00 00 00 00 01 00 2>&1 || true)
took=$(echo "$(date +%s.%N) - $start" | bc)
vm_log "long outage: READ failed after ${took}s: $(tr '\n' ' ' <<<"$out")"
grep -qi "communication failure" <<<"$out" || vm_fail "expected 02/08/00, got: $out"
(($(echo "$took <= $bound + 2 + 3" | bc))) || vm_fail "failed after ${took}s, bound is ${bound}s + one 2 s interval (+3 s slack)"
(($(echo "$took >= $bound - 1" | bc))) || vm_fail "failed after ${took}s, before the ${bound}s bound"
kill -0 "$RDP_PID" || vm_fail "daemon died"
summary=$(rdp_summary) # the daemon answers while no path is usable
grep -q "no_path_failed\|summary lun=" <<<"$summary" || vm_fail "no summary"

# 3. paths return: new I/O succeeds without restarting anything
vm_path_online 0
vm_path_online 1
vm_wait 20 grep -q "path ${PATH_SG[0]} .*-> active" "$RDP_LOG" || vm_fail "path did not return"
rdp_fio nopath2 "$disk" --size=8M --eta=never || vm_fail "I/O failed after the paths returned"
echo "RESULT nopath: short outage $short; long outage failed in ${took}s (bound ${bound}s + 2s interval) with 02/08/00; after return $(rdp_fio_figures nopath2)"
