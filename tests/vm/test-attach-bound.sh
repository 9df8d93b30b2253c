#!/bin/bash
# The kernel's enable waits for the daemon's answer to ADDED_DEVICE and nothing else bounds that
# wait: an attach whose probes are held up (paths that hang; or, for good, an open() under the
# backstore's configfs directory while that directory is being removed, which itself waits for
# this enable) must be answered with an error after its bound, not never. The daemon runs with
# --attach-timeout 4; both scsi_debug paths ignore every command, so the probes take a 10 s
# timeout each. The create must fail with the daemon's reason before the probes are back (the
# log's order shows it), the daemon must keep answering meanwhile, and once the paths answer
# again the same backstore must be created and carry verified I/O.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

trap strand_off EXIT

vm_scsi_debug_paths 2
: >"$RDP_LOG" # the log's order is the assertion: this run's lines only
rdp_start --attach-timeout 4

strand_on
rc=0
out=$(targetcli /backstores/user:rdp create name=luna size=128M cfgstring=wwid=$WWID 2>&1) || rc=$?
vm_log "create while the paths hang: exit $rc: $out"
# the answer came before the probes: the log says so, in this order
grep -n "refusing .*luna.*probed for 4 s" "$RDP_LOG" >/dev/null ||
	vm_fail "the daemon did not give up the attach at its bound: $(grep luna "$RDP_LOG" | tail -3)"
if grep -q "the probes of the attach given up are done" "$RDP_LOG"; then
	vm_fail "the probes were back before the create returned: the bound did not answer the kernel"
fi
for e in /sys/kernel/config/target/core/user_*/luna/enable; do
	[[ ! -e $e || $(<"$e") != 1 ]] || vm_fail "luna got enabled although its attach was given up"
done
# the loop is free meanwhile: rdpctl answers while the probes still hang
"$RDPCTL" show luns >/dev/null || vm_fail "rdpctl got no answer while the given-up probes run"
targetcli /backstores/user:rdp delete luna >/dev/null 2>&1 || true

strand_off
vm_wait 60 grep -q "the probes of the attach given up are done" "$RDP_LOG" ||
	vm_fail "the given-up probes never came back"
vm_log "the given-up probes came back: $(grep "given up are done" "$RDP_LOG" | tail -1)"
if grep -E "event loop has not turned|event loop blocked" "$RDP_LOG"; then
	vm_fail "the event loop was blocked during the attach"
fi

# the same backstore again, paths healthy: it is served and carries verified I/O
rdp_export luna "wwid=$WWID" 32M
disk=$(rdp_loop_disk)
rdp_fio bound "$disk" --size=16M --eta=never || vm_fail "fio failed on the re-created backstore"
figures=$(rdp_fio_figures bound)
[[ $figures == *" errors=0 "* ]] || vm_fail "fio saw errors: $figures"
vm_log "re-created and served: $figures"
rdp_stop
echo "RESULT attach-bound: create_exit=$rc answered_before_probes=yes $figures"
