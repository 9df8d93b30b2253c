#!/bin/bash
# The Pacemaker export agent (config/ocf/rdp-export, ocf:tcmu-rdp:rdp-export) against the real
# target stack: resource-agents' ocf-tester (meta-data against the OCF DTD, validate-all, start,
# monitor, start and stop twice, monitor after stop says "not running"), then what a cluster
# depends on: monitor fails when the daemon no longer serves the LUN and recovers when it does,
# a half export is a failure that stop cleans up, bad parameters are OCF_ERR_CONFIGURED, and an
# initiator reaches the LUN the agent exported. Needs resource-agents on the machine.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"
source "$RDP_SRC/tests/vm/iscsi-lib.sh"
iscsi_unstick_on_failure

readonly AGENT=$RDP_SRC/config/ocf/rdp-export
readonly TARGET=iqn.2003-01.org.linux-iscsi.rdp-vm:rdp.ocf
export OCF_ROOT=/usr/lib/ocf
[[ -x /usr/sbin/ocf-tester ]] || vm_fail "ocf-tester is missing: apt-get install resource-agents"

vm_scsi_debug_paths 2
rdp_start
# agent VAR=VALUE... ACTION: run one action with the test's parameters (VAR=VALUE adds or
# overrides OCF_RESKEY_VAR); prints nothing, returns the agent's exit code
agent() {
	local action=${*: -1} kv
	local -a env=(OCF_ROOT=$OCF_ROOT OCF_RESOURCE_INSTANCE=rdp OCF_RESKEY_name=lun0
		OCF_RESKEY_wwid="$WWID" OCF_RESKEY_size=128M OCF_RESKEY_target=$TARGET
		OCF_RESKEY_export_tool="$RDP_SRC/examples/iscsi-export" OCF_RESKEY_rdpctl="$RDPCTL")
	for kv in "${@:1:$#-1}"; do env+=("OCF_RESKEY_$kv"); done
	env "${env[@]}" "$AGENT" "$action" >>"$VMOUT/agent.log" 2>&1
}
rc_of() { local rc=0; agent "$@" || rc=$?; echo "$rc"; }

# --- ocf-tester ----------------------------------------------------------------------------------
out=$(ocf-tester -v -n rdp -o name=lun0 -o wwid="$WWID" -o size=128M -o target="$TARGET" \
	-o export_tool="$RDP_SRC/examples/iscsi-export" -o rdpctl="$RDPCTL" "$AGENT" 2>&1) ||
	vm_fail "ocf-tester failed: $out"
echo "$out"
grep -q "passed all tests" <<<"$out" || vm_fail "ocf-tester did not pass all tests: $out"
vm_assert_eq 7 "$(rc_of monitor)" "monitor after ocf-tester's last stop (OCF_NOT_RUNNING)"

# --- bad parameters ------------------------------------------------------------------------------
vm_assert_eq 6 "$(rc_of lun=db validate-all)" "validate-all with both wwid and lun (OCF_ERR_CONFIGURED)"
vm_assert_eq 6 "$(rc_of wwid= validate-all)" "validate-all with neither wwid nor lun"
vm_assert_eq 6 "$(rc_of cmd_time_out=10s validate-all)" "validate-all with cmd_time_out 10s"
vm_assert_eq 5 "$(rc_of rdpctl=/nonexistent/rdpctl validate-all)" "validate-all without rdpctl (OCF_ERR_INSTALLED)"

# --- start, and what the export is ---------------------------------------------------------------
vm_assert_eq 0 "$(rc_of start)" "start"
so=$(echo /sys/kernel/config/target/core/user_*/lun0)
vm_assert_eq 0 "$(<"$so/attrib/emulate_pr")" "emulate_pr of the agent's backstore (reservations=false)"
vm_assert_eq 10 "$(<"$so/attrib/cmd_time_out")" "cmd_time_out of the agent's backstore"
[[ ! -e /etc/rtslib-fb-target/saveconfig.json ]] || ! grep -q "$TARGET" /etc/rtslib-fb-target/saveconfig.json ||
	vm_fail "the agent's export was saved to targetcli's configuration"
iscsi_initiator_start iqn.2005-03.org.open-iscsi:ocf-host
out=$(iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 2>&1) || vm_fail "discovery: $out"
out=$(iscsiadm -m node -T "$TARGET" -p 127.0.0.1:3260 --login 2>&1) || vm_fail "login: $out"
iscsi_wait_disk "$TARGET"
disk=$(iscsi_disk "$TARGET")
dd if=/dev/urandom of=/tmp/block bs=4096 count=1 status=none
dd if=/tmp/block of="/dev/$disk" bs=4096 count=1 seek=7 oflag=direct status=none
cmp <(dd if="/dev/$disk" bs=4096 count=1 skip=7 iflag=direct status=none) /tmp/block ||
	vm_fail "what was written through the agent's export does not read back"
iscsiadm -m node -T "$TARGET" --logout >/dev/null || vm_fail "logout"

# --- monitor follows the daemon ------------------------------------------------------------------
vm_assert_eq 0 "$(rc_of monitor)" "monitor of the started export"
kill -KILL "$RDP_PID"
wait "$RDP_PID" 2>/dev/null || true
vm_assert_eq 1 "$(rc_of monitor)" "monitor while tcmu-rdpd is dead (OCF_ERR_GENERIC)"
rdp_start
_monitor_ok() { [[ $(rc_of monitor) == 0 ]]; }
vm_wait 60 _monitor_ok || vm_fail "monitor did not recover once tcmu-rdpd adopted the LUN"

# --- half an export ------------------------------------------------------------------------------
targetcli /iscsi delete "$TARGET" >/dev/null || vm_fail "deleting the target by hand"
vm_assert_eq 1 "$(rc_of monitor)" "monitor of a backstore without its target (OCF_ERR_GENERIC)"
vm_assert_eq 0 "$(rc_of stop)" "stop of half an export"
vm_assert_eq 7 "$(rc_of monitor)" "monitor after that stop"
[[ ! -e $so ]] || vm_fail "stop left the backstore $so"
vm_assert_eq 0 "$(rc_of stop)" "stop of nothing"

grep -q "lun lun0: serving" "$RDP_LOG" || vm_fail "the daemon never served lun0"
echo "RESULT ocf: ocf-tester passed; validate, start, I/O, monitor across a daemon kill, half export: ok"
