#!/bin/bash
# The LUN as a Windows 2000 host with the Microsoft iSCSI initiator drives it: only the commands
# that initiator, the disk class driver and the cluster service send, issued with sg3-utils
# through the iSCSI disk's sg node (examples/iscsi-export in demo mode). The same sequence runs
# three times: all paths up, path 0 offline, path 1 offline; every answer is checked, and VPD
# 0x83 must be byte-identical in all three. RESERVE(6) is checked against a second I_T nexus
# (a tcm_loop LUN on the same backstore), as a second cluster node would see it.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"
source "$RDP_SRC/tests/vm/iscsi-lib.sh"
iscsi_unstick_on_failure

readonly TARGET=iqn.2003-01.org.linux-iscsi.rdp-vm:rdp.w2k
readonly SIZE=$((128 << 20)) # half the backing LUN: the gateway's own range check is in play
readonly BLOCKS=$((SIZE / 512))
readonly XFER=128 # blocks per READ/WRITE(10): 64 KiB, the Microsoft initiator's usual maximum
SG="" LOOP_SG="" VPD83_REF="" CHECKED=0

# run CMD...: runs CMD; its output (stdout and stderr) in OUT, its exit code in RC.
run() {
	RC=0
	OUT=$("$@" 2>&1) || RC=$?
}

# expect WHAT good|error [TEXT...]: the last run must have exited 0 (good) or not (error), and
# its output must hold every TEXT; counts one checked answer.
expect() {
	local what=$1 want=$2 t
	shift 2
	if { [[ $want == good ]] && ((RC != 0)); } || { [[ $want == error ]] && ((RC == 0)); }; then
		vm_fail "$what: want $want, exit $RC: $OUT"
	fi
	for t in "$@"; do
		[[ $OUT == *"$t"* ]] || vm_fail "$what: no '$t' in: $OUT"
	done
	CHECKED=$((CHECKED + 1))
	vm_log "  ok: $what"
}

# cdb10 OPCODE LBA BLOCKS: the ten CDB bytes of READ(10)/WRITE(10) as sg_raw takes them.
cdb10() {
	printf '%s 00 %02x %02x %02x %02x 00 %02x %02x 00' "$1" $(($2 >> 24 & 255)) $(($2 >> 16 & 255)) \
		$(($2 >> 8 & 255)) $(($2 & 255)) $(($3 >> 8 & 255)) $(($3 & 255))
}

# The command sequence, in the order a Windows 2000 host sends it when it finds the disk, mounts
# it, writes and flushes, and when its cluster service arbitrates for it.
win2k_pass() {
	local tag=$1 vpd lba pat back cdb
	vm_log "pass '$tag'"

	run sg_inq "/dev/$SG"
	expect "INQUIRY standard: a disk (PDT 0), no TPGS (the gateway is one port)" good "PDT=0 " "TPGS=0"

	run sg_vpd --page=0x00 "/dev/$SG"
	expect "INQUIRY VPD 00h lists 80h and 83h" good "Unit serial number" "Device identification"
	run sg_vpd --page=0x80 "/dev/$SG"
	expect "INQUIRY VPD 80h" good "Unit serial number:"
	vpd=$(vpd83_hex "$SG") || vm_fail "INQUIRY VPD 83h failed"
	[[ -n $VPD83_REF ]] || VPD83_REF=$vpd
	OUT=$vpd RC=0
	expect "INQUIRY VPD 83h holds the LUN's NAA" good "${WWID#naa.}"
	vm_assert_eq "$VPD83_REF" "$vpd" "VPD 83h in pass '$tag' against the first pass"

	run sg_luns "/dev/$SG"
	expect "REPORT LUNS: LUN 0 only" good "1 lun entry" "0000000000000000"

	run sg_turs "/dev/$SG"
	expect "TEST UNIT READY" good

	run sg_readcap "/dev/$SG"
	expect "READ CAPACITY(10): the backstore's size in 512-byte blocks" good \
		"Last LBA=$((BLOCKS - 1)) " "Logical block length=512 bytes"

	run sg_modes -6 --page=0x3f "/dev/$SG"
	expect "MODE SENSE(6) page 3Fh" good "Mode parameter header from MODE SENSE(6)"
	run sg_modes -6 --page=0x08 "/dev/$SG"
	expect "MODE SENSE(6) page 08h" good "Caching"

	# WRITE(10) then READ(10) of 64 KiB at the start, the middle and the very end of the LUN.
	for lba in 0 $((BLOCKS / 2 + 7)) $((BLOCKS - XFER)); do
		pat=/tmp/pat.$tag.$lba back=/tmp/back.$tag.$lba
		head -c $((XFER * 512)) /dev/urandom >"$pat"
		read -ra cdb <<<"$(cdb10 2a "$lba" $XFER)"
		run sg_raw -s $((XFER * 512)) -i "$pat" "/dev/$SG" "${cdb[@]}"
		expect "WRITE(10) LBA $lba x $XFER" good
		read -ra cdb <<<"$(cdb10 28 "$lba" $XFER)"
		run sg_raw -r $((XFER * 512)) -o "$back" "/dev/$SG" "${cdb[@]}"
		expect "READ(10) LBA $lba x $XFER" good
		cmp -s "$pat" "$back" || vm_fail "READ(10) at LBA $lba returned other data than written"
		run sg_verify --lba="$lba" --count=$XFER "/dev/$SG"
		expect "VERIFY(10) BYTCHK=0 LBA $lba x $XFER" good
		run sg_verify --lba="$lba" --count=$XFER --ndo=$((XFER * 512)) --in="$pat" "/dev/$SG"
		expect "VERIFY(10) BYTCHK=1 LBA $lba x $XFER against the data written" good
	done

	run sg_sync "/dev/$SG"
	expect "SYNCHRONIZE CACHE(10)" good

	# A READ(10) crossing the end of the backstore: the backing LUN is larger, so only the
	# gateway's range check stands between this and data the host must not see.
	read -ra cdb <<<"$(cdb10 28 $((BLOCKS - 1)) 2)"
	run sg_raw -r 1024 "/dev/$SG" "${cdb[@]}"
	expect "READ(10) across the end: ILLEGAL REQUEST, LBA OUT OF RANGE" error \
		"Illegal Request" "address out of range"

	# The cluster service: RESERVE(6), the other node is locked out, RELEASE(6).
	read -ra cdb <<<"$(cdb10 28 0 1)"
	run sg_raw "/dev/$SG" 16 00 00 00 00 00
	expect "RESERVE(6)" good
	run sg_raw -r 512 "/dev/$LOOP_SG" "${cdb[@]}"
	expect "READ(10) from the other nexus while reserved: RESERVATION CONFLICT" error "Reservation Conflict"
	run sg_raw "/dev/$SG" 16 00 00 00 00 00
	expect "RESERVE(6) again by the holder" good
	run sg_raw "/dev/$SG" 17 00 00 00 00 00
	expect "RELEASE(6)" good
	run sg_raw -r 512 "/dev/$LOOP_SG" "${cdb[@]}"
	expect "READ(10) from the other nexus after RELEASE(6)" good
	run sg_turs "/dev/$SG"
	expect "TEST UNIT READY at the end of the pass" good
}

vm_scsi_debug_paths 2
cat >/tmp/rdp.conf <<EOT
[defaults]
checker_interval = 2
max_checker_interval = 2
EOT
: >"$RDP_LOG" # an --out directory may be reused; the greps below count this run only
rdp_start --config /tmp/rdp.conf
iscsi_initiator_start iqn.1991-05.com.microsoft:w2k-cluster-node1

# Demo mode (no --initiator): any initiator name may log in.
"$RDP_SRC/examples/iscsi-export" --wwid "$WWID" --name w2k --size $SIZE --target "$TARGET" ||
	vm_fail "examples/iscsi-export failed"
tpg=/sys/kernel/config/target/iscsi/$TARGET/tpgt_1
vm_assert_eq 1 "$(<"$tpg/attrib/generate_node_acls")" "generate_node_acls (demo mode)"
vm_assert_eq 0 "$(<"$tpg/attrib/demo_mode_write_protect")" "demo_mode_write_protect"
vm_assert_eq 0 "$(<"$tpg/attrib/authentication")" "authentication"
iscsi_login "$TARGET"
iscsi_wait_disk "$TARGET"
SG=$(iscsi_sg "$TARGET")
vm_log "iSCSI disk $(iscsi_disk "$TARGET"), sg node /dev/$SG"

# The second I_T nexus: a tcm_loop LUN on the same backstore, made in configfs by hand (a second
# targetcli start would cost seconds).
so=$(echo /sys/kernel/config/target/core/user_*/w2k)
loop=/sys/kernel/config/target/loopback/$RDP_LOOP_WWN/tpgt_1
mkdir -p "$loop"
echo naa.5001405000000002 >"$loop/nexus"
mkdir "$loop/lun/lun_0"
ln -s "$so" "$loop/lun/lun_0/w2k"
loop_disk=$(rdp_loop_disk)
vm_wait 10 test -d "/sys/block/$loop_disk/device/scsi_generic" || vm_fail "no sg node for /dev/$loop_disk"
LOOP_SG=$(ls "/sys/block/$loop_disk/device/scsi_generic")
vm_log "second nexus: tcm_loop /dev/$loop_disk, /dev/$LOOP_SG"

win2k_pass all-paths
per_pass=$CHECKED

vm_log "path 0 (${PATH_SG[0]}) offline"
vm_path_offline 0
win2k_pass path0-offline
vm_wait 20 grep -q "path ${PATH_SG[0]} active -> failed" "$RDP_LOG" ||
	vm_fail "the daemon did not log path 0 failing"
vm_path_online 0
vm_wait 30 grep -q "path ${PATH_SG[0]} checking -> active" "$RDP_LOG" || vm_fail "path 0 did not come back"

vm_log "path 1 (${PATH_SG[1]}) offline"
vm_path_offline 1
win2k_pass path1-offline
# Path 1 is ALUA non-optimized and carries no I/O while path 0 works: the checker finds it.
vm_wait 20 grep -q "path ${PATH_SG[1]} active -> failed" "$RDP_LOG" ||
	vm_fail "the daemon did not log path 1 failing"
vm_path_online 1

summary=$(rdp_summary)
echo "$summary"
failovers=$(sed -n 's/.*summary lun=w2k .* failovers=\([0-9]*\).*/\1/p' <<<"$summary")
errors=$(sed -n 's/.*summary lun=w2k .* errors_returned=\([0-9]*\).*/\1/p' <<<"$summary")
iscsi_logout "$TARGET"
echo "RESULT win2k-commands: passes=3 checks_per_pass=$per_pass checks=$CHECKED" \
	"vpd83_bytes=$((${#VPD83_REF} / 2)) failovers=$failovers errors_returned=$errors"
