#!/bin/bash
# vm-scsi-disk: 64 0x5000c50015ea71d1
# Attach off the loop (issue 10, item 5): a LUN whose paths hang while it is attached must not
# stall the other LUNs the daemon serves. LUN B's backing is a qemu SCSI disk (virtio-scsi, the
# line above); LUN A's is the scsi_debug pair. (A local LIO export cannot be a path: the daemon
# refuses devices of its own machine's targets.) While B carries a
# write-and-verify loop, scsi_debug is made to ignore every command and A's backstore is
# created: its synchronous probes block for their 10 s timeout. B must go on completing I/O
# while A's first probe is out, the event loop must never be reported blocked, and A must come
# up once its paths answer.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

trap strand_off EXIT

loop_disks() { # the sd disks of tcm_loop hosts, one per line
	local h d
	for h in /sys/class/scsi_host/host*; do
		[[ $(<"$h/proc_name") == tcm_loopback ]] || continue
		for d in "$h"/device/target*/*/block/sd*; do [[ -e $d ]] && echo "${d##*/}"; done
	done | sort
}
new_loop_disk() { comm -13 <(echo "$1") <(loop_disks) | head -1; }

vm_scsi_debug_paths 2
ram_sg=$(vm_qemu_disk naa.5000c50015ea71d1)
vm_log "LUN B's backing: qemu scsi-hd $ram_sg"

printf '[defaults]\nchecker_interval = 1\n[lunb]\npaths = %s\n' "$ram_sg" >/tmp/rdp.conf
: >"$RDP_LOG"
rdp_start --config /tmp/rdp.conf
before=$(loop_disks)
rdp_export lunb lunb 32M
vm_wait 30 test -n "$(new_loop_disk "$before")" || vm_fail "LUN B's disk did not appear"
diskb=$(new_loop_disk "$before")
vm_log "LUN B served on $diskb"

# B: write a block, read it back, compare; one line per verified round
stamps=$VMOUT/b-rounds.txt
: >"$stamps"
(
	i=0
	while [[ ! -e /tmp/stop-writer ]]; do
		c=$(printf "\\x$(printf %02x $((65 + i % 26)))")
		head -c 4096 /dev/zero | tr '\0' "$c" |
			dd of="/dev/$diskb" bs=4096 seek=$((i % 1000)) count=1 oflag=direct conv=notrunc status=none
		got=$(dd if="/dev/$diskb" bs=4096 skip=$((i % 1000)) count=1 iflag=direct status=none | tr -d "$c" | wc -c)
		[[ $got == 0 ]] || { echo "MISMATCH $i" >>"$stamps"; exit 1; }
		date +%s.%N >>"$stamps"
		i=$((i + 1))
	done
) &
writer=$!
vm_wait 30 test -s "$stamps" || vm_fail "LUN B's writer never completed a round"

strand_on
t0=$(date +%s.%N)
targetcli /backstores/user:rdp create name=luna size=128M cfgstring=wwid=$WWID >/tmp/create.log 2>&1 &
creator=$!
vm_wait 30 grep -q "lun luna: probing its paths" "$RDP_LOG" || vm_fail "LUN A's attach never started"
tp=$(date +%s.%N)
sleep 6 # A's first probe is out (it ends at its 10 s timeout); B must keep going meanwhile
t1=$(date +%s.%N)
strand_off
rc=0
wait "$creator" || rc=$?
t2=$(date +%s.%N)
touch /tmp/stop-writer
wait "$writer" || vm_fail "LUN B's writer failed: $(grep MISMATCH "$stamps" || tail -2 "$stamps")"
((rc == 0)) || vm_fail "LUN A's backstore was not created once its paths answered: $(cat /tmp/create.log)"
grep -q "lun luna: serving" "$RDP_LOG" || vm_fail "LUN A not served"
during=$(awk -v a="$tp" -v b="$t1" '$1 > a + 0.5 && $1 < b' "$stamps" | wc -l)
vm_log "while A's probe hung ($(echo "$t1 - $tp - 0.5" | bc) s): LUN B verified $during rounds; A attached after $(echo "$t2 - $t0" | bc) s"
((during > 0)) || vm_fail "LUN B completed no I/O while LUN A's attach probe hung: the loop waited for it"
if grep -E "event loop has not turned|event loop blocked" "$RDP_LOG"; then
	vm_fail "the event loop was blocked during the attach"
fi
echo "RESULT attach-off-loop: b_rounds_while_a_probe_hung=$during a_attach_s=$(echo "$t2 - $t0" | bc)"
