#!/bin/bash
# The LUN exported over iSCSI by examples/iscsi-export (ACL for one initiator IQN, one-way CHAP,
# 512-byte blocks) and used by the Linux open-iscsi initiator over loopback: a verifying random
# write load runs while each backing path fails and returns, twice. The initiator sees no error,
# verify passes, the daemon logs the failures, the iSCSI disk's VPD 0x83 stays the same, and the
# gateway never takes its own iSCSI disk as a path. Prints I/O count, errors, worst latency.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"
source "$RDP_SRC/tests/vm/iscsi-lib.sh"
iscsi_unstick_on_failure

readonly INITIATOR=iqn.1991-05.com.microsoft:w2k-rdp-test
readonly TARGET=iqn.2003-01.org.linux-iscsi.rdp-vm:rdp.lun0
readonly CHAP_SECRET=RdpTest-2000ab # 14 characters: inside the Microsoft initiator's 12..16

vm_scsi_debug_paths 2
cat >/tmp/rdp.conf <<EOT
[defaults]
checker_interval = 2
max_checker_interval = 2
EOT
: >"$RDP_LOG" # an --out directory may be reused; the greps below count this run only
rdp_start --config /tmp/rdp.conf
iscsi_initiator_start "$INITIATOR"

# Refusals: a size READ CAPACITY(10) cannot state (before any targetcli start), and a LUN the
# daemon refuses (no such WWID), after which nothing may be left behind.
out=$("$RDP_SRC/examples/iscsi-export" --wwid "$WWID" --size 3T 2>&1) && vm_fail "3 TiB was accepted: $out"
[[ $out == *"READ CAPACITY(10)"* ]] || vm_fail "no reason given for refusing 3 TiB: $out"
out=$("$RDP_SRC/examples/iscsi-export" --wwid naa.6001405000000000000000000000dead --size 64M \
	--name bad --target "$TARGET" 2>&1) && vm_fail "an unknown WWID was exported: $out"
[[ $out == *"cfgstring invalid"* && $out == *"nothing was created"* ]] ||
	vm_fail "the refusal of an unknown WWID does not say why: $out"
[[ ! -e /sys/kernel/config/target/iscsi/$TARGET ]] || vm_fail "a refused export left its target behind"
ls -d /sys/kernel/config/target/core/user_*/bad 2>/dev/null && vm_fail "a refused export left its backstore"
vm_log "refusals: 3 TiB, unknown WWID (nothing left behind)"

# No --size: the script reads the backing LUN's size (256 MiB) from sysfs.
"$RDP_SRC/examples/iscsi-export" --wwid "$WWID" --name lun0 --target "$TARGET" \
	--initiator "$INITIATOR" --chap-user "$INITIATOR" --chap-password "$CHAP_SECRET" ||
	vm_fail "examples/iscsi-export failed"

# What the script set up, read back from configfs.
tpg=/sys/kernel/config/target/iscsi/$TARGET/tpgt_1
vm_assert_eq 1 "$(<"$tpg/enable")" "TPG enabled"
vm_assert_eq 0 "$(<"$tpg/attrib/generate_node_acls")" "generate_node_acls (ACL mode)"
vm_assert_eq 1 "$(<"$tpg/attrib/authentication")" "authentication (CHAP)"
vm_assert_eq "$INITIATOR" "$(ls "$tpg/acls")" "the only ACL"
vm_assert_eq "$INITIATOR" "$(<"$tpg/acls/$INITIATOR/auth/userid")" "CHAP user of the ACL"
[[ -e $tpg/acls/$INITIATOR/lun_0 ]] || vm_fail "LUN 0 is not mapped into the ACL"
[[ -e $tpg/np/0.0.0.0:3260 ]] || vm_fail "no portal 0.0.0.0:3260"
so=$(echo /sys/kernel/config/target/core/user_*/lun0)
vm_assert_eq 512 "$(<"$so/attrib/hw_block_size")" "backstore hw_block_size"
vm_assert_eq $((256 << 20)) "$(grep -o " Size: [0-9]*" "$so/info" | cut -d" " -f3)" "backstore size"

# A wrong CHAP secret must be refused before the right one logs in.
iscsiadm -m discovery -t sendtargets -p "$ISCSI_PORTAL" >/dev/null || vm_fail "discovery"
iscsiadm -m node -T "$TARGET" -p "$ISCSI_PORTAL" -o update -n node.session.auth.authmethod -v CHAP \
	-n node.session.auth.username -v "$INITIATOR" -n node.session.auth.password -v WrongSecret-99 ||
	vm_fail "cannot set CHAP"
if iscsiadm -m node -T "$TARGET" -p "$ISCSI_PORTAL" --login >/dev/null 2>&1; then
	vm_fail "login with a wrong CHAP secret succeeded"
fi
vm_log "login with a wrong CHAP secret refused, as it should be"
iscsi_login "$TARGET" "$INITIATOR" "$CHAP_SECRET"
iscsi_wait_disk "$TARGET"
disk=$(iscsi_disk "$TARGET")
vm_assert_eq iscsi_tcp "$(iscsi_transport "$disk")" "transport of /dev/$disk"
vm_assert_eq 512 "$(<"/sys/block/$disk/queue/logical_block_size")" "initiator's block size"
vm_log "iSCSI disk /dev/$disk ($(($(<"/sys/block/$disk/size") / 2048)) MiB)"
vpd_before=$(vpd83_hex "$disk")
[[ -n $vpd_before ]] || vm_fail "no VPD 0x83 from $disk"

# Each path goes offline for 5 s and returns, twice, while fio writes and verifies. Path 1 is
# ALUA non-optimized and carries no I/O while path 0 works: the checker (every 2 s, no back-off)
# finds it failed.
(
	for i in 0 1 0 1; do
		sleep 2
		vm_log "path $i offline"
		vm_path_offline "$i"
		sleep 5
		vm_log "path $i online"
		vm_path_online "$i"
	done
) &
faults=$!
rc=0
rdp_fio iscsi "$disk" --size=96M --time_based --runtime=30 --verify_backlog=128 --eta=never || rc=$?
wait "$faults"
figures=$(rdp_fio_figures iscsi)
vm_log "fio: $figures (exit $rc)"
((rc == 0)) || vm_fail "fio failed during failover"
[[ $figures == *" errors=0 "* ]] || vm_fail "fio saw errors: $figures"

for i in 0 1; do
	n=$(grep -c "path ${PATH_SG[i]} active -> failed" "$RDP_LOG" || true)
	((n >= 2)) || vm_fail "path ${PATH_SG[i]} failed $n times in the daemon log, expected 2"
done
for i in 0 1; do
	vm_wait 20 grep -q "path ${PATH_SG[i]} checking -> active" "$RDP_LOG" ||
		vm_fail "${PATH_SG[i]} did not come back"
done
# The gateway's own iSCSI disk reports the backing WWID too; it must never become a path.
sg=$(iscsi_sg "$TARGET")
if grep -q "path /dev/$sg " "$RDP_LOG"; then
	vm_fail "the daemon used its own iSCSI disk /dev/$sg as a path"
fi

vpd_after=$(vpd83_hex "$disk")
vm_assert_eq "$vpd_before" "$vpd_after" "iSCSI disk's VPD 0x83 before/after failover"
summary=$(rdp_summary)
echo "$summary"
[[ $(grep -c "summary path=.* state=active" <<<"$summary") == 2 ]] ||
	vm_fail "both paths should be active at the end"
failovers=$(sed -n 's/.*summary lun=lun0 .* failovers=\([0-9]*\).*/\1/p' <<<"$summary")
failures=$(sed -n 's/.*summary lun=lun0 .* path_failures=\([0-9]*\).*/\1/p' <<<"$summary")

iscsi_logout "$TARGET"
vm_wait 20 test ! -e "/sys/block/$disk" || vm_fail "/dev/$disk still there after logout"
echo "RESULT iscsi: $figures failovers=$failovers path_failures=$failures"
