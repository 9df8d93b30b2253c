#!/bin/bash
# vm-scsi-disk: 64 0x5000c50015ea71e2
# vm-scsi-controller: max_sectors=128
# A path whose host adapter carries less per command (64 KiB here: the controller's
# max_sectors) than the LUN says it takes. The gateway must tell the initiator the smaller
# limit (VPD B0h MAXIMUM TRANSFER LENGTH), so that ordinary large I/O is split before it
# reaches us; and a command over it, sent raw past the initiator's own splitting, is a legal
# command that the path cannot carry: it must end with ILLEGAL REQUEST, INVALID FIELD IN CDB,
# and the path must stay in use. Before the fix the path's sg write() said EINVAL, the engine
# took it for a path failure, and with one path the LUN lost its only path.
# Argument: another daemon binary to run (the old build, to see the test fail there).
set -euo pipefail
RDPD=${1:-}
[[ -n $RDPD ]] || unset RDPD
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

path_sg=$(vm_qemu_disk naa.5000c50015ea71e2)
path_sg=${path_sg#/dev/}
path_sd=$(ls "/sys/class/scsi_generic/$path_sg/device/block")
hw_kb=$(<"/sys/block/$path_sd/queue/max_hw_sectors_kb")
vm_assert_eq 64 "$hw_kb" "the path's max_hw_sectors_kb (the controller's max_sectors=128)"
vm_log "path /dev/$path_sg ($path_sd): max_hw_sectors_kb $hw_kb, max_sectors_kb $(<"/sys/block/$path_sd/queue/max_sectors_kb")"

printf '[defaults]\nchecker_interval = 1\n[lun]\npaths = /dev/%s\n' "$path_sg" >/tmp/rdp.conf
: >"$RDP_LOG"
rdp_start --config /tmp/rdp.conf
rdp_export lun lun 32M
disk=$(rdp_loop_disk)
front_sg=$(ls "/sys/block/$disk/device/scsi_generic")
vm_log "served on $disk ($front_sg)"

# 1. what the initiator was told, and what its sd made of it
b0=$(sg_vpd --page=bl "/dev/$disk")
vm_log "VPD B0h as served: $(grep -i 'maximum transfer length' <<<"$b0")"
grep -qi 'maximum transfer length: 128 blocks' <<<"$b0" ||
	vm_fail "VPD B0h does not say 128 blocks (64 KiB) as the most per command: $b0"
front_kb=$(<"/sys/block/$disk/queue/max_sectors_kb")
((front_kb <= 64)) || vm_fail "the initiator's disk takes $front_kb KiB per command, more than the path's 64"

# 2. ordinary large I/O: 1 MiB writes and reads, split by the initiator, carried, verified
head -c $((8 << 20)) /dev/urandom >/tmp/pattern
timeout 120 dd if=/tmp/pattern of="/dev/$disk" bs=1M oflag=direct status=none || vm_fail "1 MiB writes failed"
timeout 120 dd if="/dev/$disk" of=/tmp/back bs=1M count=8 iflag=direct status=none || vm_fail "1 MiB reads failed"
cmp -s /tmp/pattern /tmp/back || vm_fail "8 MiB written in 1 MiB commands did not read back the same"
vm_log "8 MiB in 1 MiB I/Os: written and read back equal"

# 3. a READ(10) of 256 blocks (128 KiB) straight to the LUN, past the initiator's splitting
rc=0
out=$(timeout 60 sg_raw -r 131072 "/dev/$front_sg" 28 00 00 00 00 00 00 01 00 00 2>&1) || rc=$?
vm_log "READ(10) of 128 KiB: exit $rc: $(tr '\n' ' ' <<<"$out")"
((rc != 0)) || vm_fail "a 128 KiB READ over a 64 KiB path succeeded?"
[[ $out == *"Illegal Request"* && $out == *"Invalid field in cdb"* ]] ||
	vm_fail "the 128 KiB READ did not end with ILLEGAL REQUEST, INVALID FIELD IN CDB: $out"
# the path still carries I/O, at once: 64 KiB READ(10) raw, then a verified block
sg_raw -r 65536 "/dev/$front_sg" 28 00 00 00 00 00 00 00 80 00 >/dev/null 2>&1 ||
	vm_fail "a 64 KiB READ failed after the refused one"
if grep -E 'active -> failed|no usable path' "$RDP_LOG"; then
	vm_fail "the path was failed by a command it could not carry"
fi
state=$("$RDPCTL" show paths 2>&1)
vm_log "paths: $(tr '\n' ' ' <<<"$state")"
grep -q ' active' <<<"$state" || vm_fail "the path is not active: $state"
grep -q 'no path can carry a command of 131072 bytes' "$RDP_LOG" ||
	vm_fail "the daemon did not log the refusal"
rdp_stop
vm_log "PASS: B0h says 64 KiB, 1 MiB I/O verified, the 128 KiB command refused with 05/24/00, the path kept"
