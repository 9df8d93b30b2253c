#!/bin/bash
# VM smoke test: proves the harness gives a test what it needs. Two scsi_debug paths with one
# WWID, and a TCMU device made by hand through configfs (as rtslib does) that shows up as uio.
# Run: tests/vm/vm-run tests/vm/smoke.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/guest-lib.sh
source "$RDP_SRC/tests/vm/guest-lib.sh"

vm_scsi_debug_paths 2
vm_assert_eq naa.33333330000007d0 "$WWID" "WWID of the scsi_debug LUN"
for i in 0 1; do
	w=$(</sys/class/scsi_generic/"${PATH_SG[i]#/dev/}"/device/wwid)
	vm_assert_eq "$WWID" "$w" "WWID of ${PATH_SG[i]}"
done

# A TCMU device with nobody serving its ring. No SET_FEATURES has been sent (nothing listens on
# netlink), so enable and rmdir do not wait for a reply.
dev=/sys/kernel/config/target/core/user_1/smoke
mkdir -p "$dev"
echo "dev_config=rdp/smoke,dev_size=67108864" >"$dev/control"
echo 1 >"$dev/enable"
vm_wait 10 test -c /dev/uio0 || vm_fail "/dev/uio0 did not appear after enabling $dev"
vm_assert_eq tcm-user/1/smoke/rdp/smoke "$(</sys/class/uio/uio0/name)" "uio0 name"
vm_log "uio0: $(</sys/class/uio/uio0/name), map0 size $(</sys/class/uio/uio0/maps/map0/size)"
rmdir "$dev"
vm_wait 10 test ! -e /dev/uio0 || vm_fail "/dev/uio0 still there after rmdir $dev"

echo "smoke: ok paths=${PATH_SG[*]} wwid=$WWID uio=tcm-user/1/smoke/rdp/smoke" >"$VMOUT/result"
vm_log "smoke test passed"
