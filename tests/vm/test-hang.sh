#!/bin/bash
# Paths that hang rather than fail (issue 10). scsi_debug ignores every command while
# every_nth=1 opts=4 (module-wide: both paths hang); the backstore's cmd_time_out is 10 s.
# (b) One WRITE stranded on its path for a moment: it completes on the other path within
#     cmd_time_out, and the initiator sees no error.
# (a) A WRITE hangs longer than cmd_time_out: the kernel fails it to the initiator, which then
#     writes the same block with other data and succeeds. Long after every timeout the block
#     holds the new data, read through the gateway and on the backing store: the old WRITE was
#     never re-sent after the kernel gave up on it (a lost update otherwise).
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

readonly TIMEOUT=10 # the backstore's cmd_time_out, seconds
trap strand_off EXIT

vm_scsi_debug_paths 2
cat >/tmp/rdp.conf <<EOT
[defaults]
checker_interval = 1
max_checker_interval = 1
EOT
: >"$RDP_LOG"
rdp_start --config /tmp/rdp.conf
vm_targetcli >/dev/null <<EOT
/backstores/user:rdp create name=lun0 size=128M cfgstring=wwid=$WWID
/backstores/user:rdp/lun0 set attribute cmd_time_out=$TIMEOUT
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/user:rdp/lun0
EOT
disk=$(rdp_loop_disk)
vm_assert_eq $TIMEOUT "$(cat /sys/kernel/config/target/core/user_*/lun0/attrib/cmd_time_out)" "cmd_time_out"
vm_wait 15 grep -q "kernel cmd_time_out $((TIMEOUT * 1000)) ms" "$RDP_LOG" ||
	vm_fail "the daemon did not take the backstore's cmd_time_out: $(grep cmd_time_out "$RDP_LOG")"

block() { head -c 4096 /dev/zero | tr '\0' "$1"; }
# write_block CHAR SEEK(4k blocks): through the gateway, direct
write_block() { block "$1" | dd of="/dev/$disk" bs=4096 seek="$2" count=1 oflag=direct conv=notrunc status=none; }
# read_block DEV SEEK: the first byte of the block, and whether the block is all one byte
read_block() {
	dd if="/dev/$1" bs=4096 skip="$2" count=1 iflag=direct status=none | od -An -c | tr -d ' \n' | cut -c1-1
}
uniform() { # DEV SEEK CHAR
	[[ $(dd if="/dev/$1" bs=4096 skip="$2" count=1 iflag=direct status=none | tr -d "$3" | wc -c) == 0 ]]
}
both_paths_active() { (($("$RDPCTL" show paths 2>/dev/null | grep -c " active") >= 2)); }

# ---- (b) a command that hangs on one path completes on the other ----
write_block O 100
t0=$(date +%s.%N)
strand_on
( write_block B 100 ) &
writer=$!
sleep 1.5 # the WRITE reached its path and was ignored there; what follows is answered again
strand_off
rc=0
wait "$writer" || rc=$?
t1=$(date +%s.%N)
elapsed=$(echo "$t1 - $t0" | bc)
((rc == 0)) || vm_fail "(b) the initiator saw an error for a WRITE that hung on one path (after ${elapsed} s)"
(($(echo "$elapsed < $TIMEOUT" | bc))) || vm_fail "(b) took ${elapsed} s, not within cmd_time_out"
uniform "$disk" 100 B || vm_fail "(b) the block does not hold the WRITE's data"
uniform "${PATH_SD[0]}" 100 B || vm_fail "(b) the backing store does not hold the WRITE's data"
grep -q "DID_TIME_OUT" "$RDP_LOG" || vm_fail "(b) no path timed out: the command did not hang"
vm_log "(b) hung on one path, completed on the other in ${elapsed} s, no error at the initiator"
echo "RESULT hang-other-path: elapsed_s=$elapsed initiator_errors=0"
vm_wait 30 both_paths_active || vm_fail "paths did not come back after (b)"

# ---- (a) no lost update after the kernel's cmd_time_out ----
write_block O 200
strand_on
t0=$(date +%s.%N)
rc=0
write_block A 200 || rc=$?
t1=$(date +%s.%N)
((rc != 0)) || vm_fail "(a) a WRITE with every path hung succeeded"
vm_log "(a) the initiator's WRITE A failed after $(echo "$t1 - $t0" | bc) s (the kernel's cmd_time_out)"
strand_off
# at once, as an initiator's retry would: well before any attempt of the old WRITE could end
written=0
for try in 1 2 3 4 5 6 7 8; do
	if write_block N 200; then written=1; break; fi
	sleep 2
done
((written)) || vm_fail "(a) the initiator's second WRITE (new data) failed 8 times"
vm_log "(a) the initiator wrote N over the block (try $try); waiting out every timeout"
sleep 45 # longer than any attempt of the old WRITE could take (13 s cmd_timeout + EH, twice)
uniform "$disk" 200 N || vm_fail "(a) LOST UPDATE: the block read through the gateway is '$(read_block "$disk" 200)', not N"
uniform "${PATH_SD[0]}" 200 N || vm_fail "(a) LOST UPDATE: the backing store holds '$(read_block "${PATH_SD[0]}" 200)', not N"
grep -q "reached the kernel's cmd_time_out" "$RDP_LOG" || vm_fail "(a) no expiry logged"
# the watchdog named the stuck WRITE well before the kernel's cmd_time_out
grep -q "lun lun0: no command completed for .* opcode 0x2a" "$RDP_LOG" ||
	vm_fail "(a) the watchdog did not name the stuck WRITE: $(grep "no command completed" "$RDP_LOG" || echo nothing)"
vm_log "(a) watchdog: $(grep -o "no command completed for [0-9.]* s.*opcode 0x2a, CDB[0-9a-f ]*" "$RDP_LOG" | head -1)"
summary=$(rdp_summary)
echo "$summary"
vm_log "(a) the block holds the new data on the gateway and the backing store"
echo "RESULT hang-no-lost-update: ok"

# ---- (c) a LUN attached while its paths hang: the event loop goes on ----
# The attach's synchronous probes run off the loop (issue 10, item 5): while one waits for its
# timeout, the daemon still answers rdpctl (which the loop serves), its loop watchdog never
# reports it blocked, and the LUN comes up once a path answers. (Before, the loop sat in SG_IO
# for the whole probe: the watchdog said "event loop has not turned ... sg_ioctl".)
vm_targetcli >/dev/null <<EOT
/loopback/$RDP_LOOP_WWN/luns delete lun0
/backstores/user:rdp delete lun0
EOT
strand_on
t0=$(date +%s.%N)
targetcli /backstores/user:rdp create name=lun0 size=128M cfgstring=wwid=$WWID >/tmp/create.log 2>&1 &
creator=$!
vm_wait 30 grep -q "lun lun0: probing its paths" "$RDP_LOG" || vm_fail "(c) the attach never started"
sleep 2
timeout 5 "$RDPCTL" show topology >/dev/null || vm_fail "(c) rdpctl got no answer while an attach probe hung"
sleep 4
strand_off
wait "$creator" || vm_fail "(c) the backstore was not created once the paths answered: $(cat /tmp/create.log)"
t1=$(date +%s.%N)
if grep -E "event loop has not turned|event loop blocked" "$RDP_LOG"; then
	vm_fail "(c) the event loop was blocked by the attach"
fi
vm_log "(c) attach took $(echo "$t1 - $t0" | bc) s with hung paths; the loop was never blocked"
echo "RESULT hang-attach-off-loop: ok"
