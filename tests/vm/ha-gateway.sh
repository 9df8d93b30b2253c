#!/bin/bash
# Gateway N of the two-gateway cluster test (tests/vm/cluster-ha; run by it, not by tests/run on
# its own). The guest has the shared LUN over two virtio-scsi controllers (two paths, one
# identity) and eth0 on the cluster's iSCSI network. It serves the LUN as target port N of 2
# (config target_port/target_ports), exports it over iSCSI with reservations refused
# (emulate_pr=0) and a 10 s cmd_time_out, announces gwN.ready, then does what the initiator
# asks through files in /vmout until it is told to stop:
#   gwN.kill-daemon   SIGKILL tcmu-rdpd (a crash; the ring keeps the kernel's commands)
#   gwN.start-daemon  start it again: it adopts the device, as after systemd's Restart=
#   gwN.net-down      take eth0 down (the gateway's network is cut)
#   gwN.net-up        bring it back
#   gwN.stop          log the daemon's summary, stop it, exit
# Each request is answered by the file gwN.<request>.done.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/ha-lib.sh"
n=${1:?usage: ha-gateway.sh N}
me=gw$n
export RDP_LOG=$VMOUT/tcmu-rdpd-$me.log
source "$RDP_SRC/tests/vm/rdp-lib.sh"
source "$RDP_SRC/tests/vm/iscsi-lib.sh"
iscsi_unstick_on_failure
readonly WWN=${HA_WWID:-naa.6001405aabbccdd0}

rm -f "$VMOUT/$me.ready"
sg=$(vm_qemu_disk "$WWN")
vm_wait 30 test "$(grep -lx "$WWN" /sys/class/scsi_generic/sg*/device/wwid | wc -l)" -ge 2 ||
	vm_fail "the shared LUN $WWN does not have two paths"
vm_log "shared LUN $WWN: $(grep -lx "$WWN" /sys/class/scsi_generic/sg*/device/wwid | cut -d/ -f5 | tr '\n' ' ')(first $sg)"
ha_net_up "$(ha_gateway_ip "$n")"

cat >/tmp/rdp.conf <<EOT
[defaults]
checker_interval = 2
max_checker_interval = 2
target_port = $n
target_ports = 2
# one of two gateways: without a SAN path, fail at once (02/04/0C) so the host moves to the
# other, and a first attempt fits twice in the 10 s cmd_time_out below (docs/ha.md)
no_path_retry = fail
cmd_timeout = 3
EOT
# a later boot keeps the earlier ones' logs (boot1, boot2...)
if [[ -s $RDP_LOG ]]; then
	b=1
	while [[ -e ${RDP_LOG%.log}.boot$b.log ]]; do b=$((b + 1)); done
	mv "$RDP_LOG" "${RDP_LOG%.log}.boot$b.log"
fi
rdp_start --config /tmp/rdp.conf
target=iqn.2003-01.org.linux-iscsi.rdp-gw$n:lun0
"$RDP_SRC/examples/iscsi-export" --wwid "$WWN" --name lun0 --size 192M --target "$target" \
	--no-reservations --cmd-time-out 10 || vm_fail "examples/iscsi-export failed on $me"
so=$(echo /sys/kernel/config/target/core/user_*/lun0)
vm_assert_eq 0 "$(<"$so/attrib/emulate_pr")" "$me: emulate_pr of the backstore"
vm_assert_eq 10 "$(<"$so/attrib/cmd_time_out")" "$me: cmd_time_out of the backstore"
ha_say "$me.ready" "$target"
vm_log "$me ready: $target on $(ha_gateway_ip "$n"):3260"

# san_state offline|running: both paths to the shared LUN fail at once, or work again
san_state() {
	local w n=0
	for w in $(grep -lx "$WWN" /sys/class/scsi_generic/sg*/device/wwid); do
		echo "$1" >"${w%/wwid}/state" || vm_fail "$me: cannot set ${w%/wwid} $1"
		n=$((n + 1))
	done
	((n >= 2)) || vm_fail "$me: $n paths to $WWN set $1, not 2"
}
answer() { ha_say "$me.$1.done" "${2-}"; vm_log "$me: $1 done ${2-}"; }
until ha_take "$me.stop"; do
	if ha_take "$me.kill-daemon"; then
		kill -KILL "$RDP_PID"
		wait "$RDP_PID" 2>/dev/null || true
		RDP_PID=
		answer kill-daemon
	elif ha_take "$me.start-daemon"; then
		rdp_start --config /tmp/rdp.conf
		answer start-daemon "pid $RDP_PID"
	elif ha_take "$me.net-down"; then
		ip link set eth0 down
		answer net-down
	elif ha_take "$me.net-up"; then
		ip link set eth0 up
		answer net-up
	elif ha_take "$me.san-down"; then
		san_state offline
		answer san-down
	elif ha_take "$me.san-up"; then
		san_state running
		answer san-up
	fi
	sleep 0.2
done
rdp_summary >"$VMOUT/$me-summary.txt"
cat "$VMOUT/$me-summary.txt"
rdp_stop
grep -q "stopped cleanly" "$RDP_LOG" || vm_fail "$me: the daemon did not stop cleanly"
vm_log "$me stopped"
