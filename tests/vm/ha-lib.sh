# shellcheck shell=bash
# Guest helpers for the cluster tests (tests/vm/cluster-*): several guests on one qemu socket
# network share one --out directory, /vmout, and coordinate through files in it. A guest
# announces a state with ha_say NAME (the file /vmout/NAME appears) and waits for another's
# with ha_wait_for NAME; the host driver reads and writes the same directory.
#   source "$RDP_SRC/tests/vm/guest-lib.sh"; source "$RDP_SRC/tests/vm/ha-lib.sh"

readonly HA_NET=10.0.9
readonly HA_INITIATOR_IP=$HA_NET.10

# ha_gateway_ip N: the address of gateway N on the iSCSI network
ha_gateway_ip() { echo "$HA_NET.$1"; }

# ha_net_up ADDR: eth0 (the guest's first --net) up with ADDR/24
ha_net_up() {
	modprobe virtio_net || vm_fail "modprobe virtio_net"
	vm_wait 10 test -e /sys/class/net/eth0 || vm_fail "no eth0 (was the guest given --net?)"
	ip addr add "$1/24" dev eth0 || vm_fail "ip addr add $1/24 dev eth0"
	ip link set eth0 up || vm_fail "ip link set eth0 up"
	vm_log "eth0 $1/24 up"
}

# ha_say NAME [TEXT]: announce NAME (with TEXT) to the other guests and the host
ha_say() {
	printf '%s\n' "${2-}" >"$VMOUT/.$1.tmp"
	mv -f "$VMOUT/.$1.tmp" "$VMOUT/$1"
}

# ha_wait_for NAME SECS: wait until NAME was announced; fails the test after SECS
ha_wait_for() {
	vm_wait "$2" test -e "$VMOUT/$1" || vm_fail "no '$1' after $2 s"
}

# ha_take NAME: true (and NAME removed) when NAME was announced
ha_take() {
	[[ -e $VMOUT/$1 ]] || return 1
	rm -f "$VMOUT/$1"
}
