#!/bin/bash
# Object lifetimes under hung paths (issue 10 item 3), with the daemon of the ASan+UBSan build
# (build-asan): nothing of ours is freed while a request that names it, or a buffer it owns, is
# still out on a device.
# (1) The LUN is deleted (targetcli) while its path checker's commands hang on both paths: the
#     daemon keeps the LUN until they come back at their timeout, then frees it; a LUN created
#     again on the same paths serves I/O. (The delete itself takes about 80 s here: the tcm_loop
#     disk's SYNCHRONIZE CACHE on removal waits for a path, and sd tries it three times.)
# (2) A path's device is deleted while an initiator's WRITE hangs on it: the WRITE comes back
#     from that path, completes on the other one, the path is freed once nothing of it is out,
#     and the initiator sees no error.
# Both end with no sanitizer report and the daemon alive. scsi_debug ignores every command
# while every_nth=1 opts=4 (module-wide: both paths hang at once).
set -euo pipefail
RDPD=$RDP_SRC/build-asan/handler/tcmu-rdpd
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

[[ -x $RDPD ]] || vm_fail "$RDPD not built (tests/run builds build-asan first)"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:log_path=$VMOUT/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$VMOUT/ubsan"

trap strand_off EXIT

sanitizer_clean() {
	local f
	for f in "$VMOUT"/asan.* "$VMOUT"/ubsan.*; do
		[[ -e $f ]] || continue
		cat "$f" >&2
		vm_fail "sanitizer report: $f"
	done
	kill -0 "$RDP_PID" 2>/dev/null || vm_fail "the daemon died: $(tail -5 "$RDP_LOG")"
}
block() { head -c 4096 /dev/zero | tr '\0' "$1"; }
write_block() { block "$1" | dd of="/dev/$2" bs=4096 seek="$3" count=1 oflag=direct conv=notrunc status=none; }
uniform() { # DEV SEEK CHAR
	[[ $(dd if="/dev/$1" bs=4096 skip="$2" count=1 iflag=direct status=none | tr -d "$3" | wc -c) == 0 ]]
}
both_paths_active() { (($("$RDPCTL" show paths 2>/dev/null | grep -c " active") >= 2)); }
logged() { grep -q "$1" "$RDP_LOG"; }

vm_scsi_debug_paths 2
printf '[defaults]\nchecker_interval = 1\nmax_checker_interval = 1\ngrouping = multibus\n' >/tmp/rdp.conf
: >"$RDP_LOG"
rdp_start --config /tmp/rdp.conf
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
write_block O "$disk" 10
uniform "$disk" 10 O || vm_fail "the first write did not land"

# ---- (1) the LUN deleted while its checks hang ----
strand_on
sleep 3 # every second each path gets a TEST UNIT READY: now both are out, unanswered
vm_targetcli >/dev/null <<EOT
/loopback/$RDP_LOOP_WWN/luns delete lun0
/backstores/user:rdp delete lun0
EOT
t0=$(date +%s)
vm_wait 20 logged "lun lun0: closed with [1-9][0-9]* check" ||
	vm_fail "(1) no deferred close logged: $(grep "lun lun0: closed" "$RDP_LOG" || echo none)"
vm_log "(1) $(grep -o "lun lun0: closed with.*" "$RDP_LOG" | tail -1)"
# Not "not freed yet" by the clock: the hung TURs time out every 10 s and the delete itself can
# take longer (the initiator's SYNCHRONIZE CACHE waits out cmd_time_out on the stranded paths),
# so the last check may be back already. What must hold is the order: closed with checks out
# first, freed only after (the sanitizer build catches a check completing into freed memory).
closed_at=$(grep -n "lun lun0: closed with" "$RDP_LOG" | tail -1 | cut -d: -f1)
back_at=$(grep -n "lun lun0: the last request out on its paths is back" "$RDP_LOG" | tail -1 | cut -d: -f1 || true)
[[ -z $back_at || $back_at -gt $closed_at ]] ||
	vm_fail "(1) the LUN was freed while its checks were still out (log line $back_at before $closed_at)"
strand_off
# the hung TURs come back at their timeout (10 s) once SCSI error handling has aborted them
vm_wait 90 logged "the last request out on its paths is back" ||
	vm_fail "(1) the LUN was never freed after its checks came back"
t1=$(date +%s)
vm_log "(1) freed $((t1 - t0)) s after the delete, when the last check came back"
sanitizer_clean
vm_targetcli >/dev/null <<EOT
/backstores/user:rdp create name=lun0 size=128M cfgstring=wwid=$WWID
/loopback/$RDP_LOOP_WWN/luns create /backstores/user:rdp/lun0
EOT
disk=$(rdp_loop_disk)
uniform "$disk" 10 O || vm_fail "(1) the re-created LUN does not read what was written"
write_block P "$disk" 10
uniform "${PATH_SD[0]}" 10 P || vm_fail "(1) the re-created LUN's write did not reach the backing store"
echo "RESULT lifetime-lun-deleted: freed_after_s=$((t1 - t0)) asan=clean"
vm_wait 30 both_paths_active || vm_fail "paths not both active before (2)"

# ---- (2) a path's device deleted while a WRITE hangs on it ----
strand_on
(write_block W "$disk" 20) &
writer=$!
sleep 1.5 # the WRITE reached a path and was ignored there
strand_off
hung=$("$RDPCTL" show paths --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["luns"][0]["paths"]:
    if p["inflight"] > 0:
        print(p["dev"]); break')
[[ -n $hung ]] || vm_fail "(2) no path holds the stranded WRITE"
idx=
for i in "${!PATH_SG[@]}"; do [[ ${PATH_SG[$i]} == "$hung" ]] && idx=$i; done
[[ -n $idx ]] || vm_fail "(2) $hung is not one of ${PATH_SG[*]}"
other=$((1 - idx))
vm_log "(2) the WRITE hangs on $hung: deleting its device"
echo 1 >"/sys/class/scsi_generic/${hung##*/}/device/delete" &
deleter=$!
rc=0
wait "$writer" || rc=$?
((rc == 0)) || vm_fail "(2) the initiator saw an error for the WRITE whose path was deleted"
wait "$deleter" || vm_fail "(2) the device delete failed"
vm_wait 60 logged "path $hung removed" || vm_fail "(2) $hung was never removed"
uniform "$disk" 20 W || vm_fail "(2) the block does not hold the WRITE's data"
uniform "${PATH_SD[$other]}" 20 W || vm_fail "(2) the backing store does not hold the WRITE's data"
sanitizer_clean
write_block X "$disk" 21
uniform "$disk" 21 X || vm_fail "(2) I/O after the removal failed"
echo "RESULT lifetime-path-deleted: initiator_errors=0 asan=clean"
rdp_stop
for f in "$VMOUT"/asan.* "$VMOUT"/ubsan.*; do
	[[ -e $f ]] && { cat "$f" >&2; vm_fail "sanitizer report at exit: $f"; }
done
vm_log "lifetimes: no sanitizer report"
