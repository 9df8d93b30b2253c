# shellcheck shell=bash
# Guest helpers for the iSCSI VM tests: the Linux open-iscsi initiator logs in over loopback to
# the target examples/iscsi-export made on the same guest, and finds the disk it got.
#   source "$RDP_SRC/tests/vm/guest-lib.sh"; source "$RDP_SRC/tests/vm/iscsi-lib.sh"
# Like guest-lib.sh, helpers fail the test (exit 1) rather than return errors.

readonly ISCSI_PORTAL=127.0.0.1:3260
ISCSID_PID=

# iscsi_initiator_start IQN: the initiator name (the overlay /etc is writable and thrown away),
# the TCP transport and iscsid. The guest has no systemd, so iscsiadm could not start iscsid
# through iscsid.socket as Debian's iscsid.conf asks.
iscsi_initiator_start() {
	printf 'InitiatorName=%s\n' "$1" >/etc/iscsi/initiatorname.iscsi
	mkdir -p /run/lock/iscsi # iscsiadm's record lock; systemd-tmpfiles makes it on a real host
	modprobe -a crc32c iscsi_tcp || vm_fail "modprobe crc32c iscsi_tcp"
	iscsid -f >"${VMOUT:-/tmp}/iscsid.log" 2>&1 &
	ISCSID_PID=$!
	vm_wait 20 _iscsid_up || vm_fail "iscsid did not come up: $(cat "${VMOUT:-/tmp}/iscsid.log")"
	vm_log "iscsid running (pid $ISCSID_PID) as $1"
}

# iscsiadm asks iscsid on its abstract socket; exit 21 is "no sessions", i.e. iscsid answered.
_iscsid_up() {
	kill -0 "$ISCSID_PID" 2>/dev/null || return 1
	local rc=0
	iscsiadm -m session >/dev/null 2>&1 || rc=$?
	((rc == 0 || rc == 21))
}

# iscsi_login TARGET [CHAP_USER CHAP_PASSWORD]: sendtargets discovery on the loopback portal,
# then a login; CHAP is set in the node record first when given.
iscsi_login() {
	local target=$1 out
	out=$(iscsiadm -m discovery -t sendtargets -p "$ISCSI_PORTAL" 2>&1) ||
		vm_fail "iSCSI discovery on $ISCSI_PORTAL failed: $out"
	grep -q " $target\$" <<<"$out" || vm_fail "discovery did not list $target: $out"
	if (($# == 3)); then
		iscsiadm -m node -T "$target" -p "$ISCSI_PORTAL" -o update \
			-n node.session.auth.authmethod -v CHAP \
			-n node.session.auth.username -v "$2" \
			-n node.session.auth.password -v "$3" >/dev/null ||
			vm_fail "cannot set CHAP in the node record of $target"
	fi
	out=$(iscsiadm -m node -T "$target" -p "$ISCSI_PORTAL" --login 2>&1) ||
		vm_fail "iSCSI login to $target failed: $out"
	vm_log "logged in to $target"
}

# iscsi_logout TARGET
iscsi_logout() {
	local out
	out=$(iscsiadm -m node -T "$1" -p "$ISCSI_PORTAL" --logout 2>&1) ||
		vm_fail "iSCSI logout from $1 failed: $out"
	vm_log "logged out of $1"
}

# _iscsi_find_dev TARGET KIND: prints the sdX (KIND block) or sgN (KIND scsi_generic) of LUN 0 in
# the session to TARGET; returns 1 until it exists with its /dev node.
_iscsi_find_dev() {
	local s dev n
	for s in /sys/class/iscsi_session/session*; do
		[[ -r $s/targetname && $(<"$s/targetname") == "$1" ]] || continue
		dev=$(realpath "$s/device")
		for n in "$dev"/target*/*:0/"$2"/*; do
			[[ -e $n ]] || continue
			n=${n##*/}
			[[ -e /dev/$n ]] || continue
			echo "$n"
			return 0
		done
	done
	return 1
}

# iscsi_disk TARGET / iscsi_sg TARGET: the session's disk (sdX) or its sg node (sgN), waiting
# for the LUN scan. Call as var=$(iscsi_disk T) only after iscsi_wait_disk T, which can fail the
# test in the test's own shell.
iscsi_wait_disk() {
	vm_wait 60 _iscsi_find_dev "$1" block >/dev/null ||
		vm_fail "no disk appeared in the session to $1 (the LUN scan did not finish)$(_iscsi_daemon_stacks)"
	vm_wait 10 _iscsi_find_dev "$1" scsi_generic >/dev/null || vm_fail "no sg node for the disk of $1"
}

# Where tcmu-rdpd's threads wait in the kernel: a daemon blocked outside its poll loop stops
# answering the scan's commands.
_iscsi_daemon_stacks() {
	local t
	[[ -n ${RDP_PID:-} && -d /proc/$RDP_PID ]] || return 0
	echo
	for t in /proc/"$RDP_PID"/task/*; do
		echo "tcmu-rdpd thread ${t##*/} ($(<"$t/comm")) waits in $(<"$t/wchan"):"
		sed 's/^/    /' "$t/stack" 2>/dev/null
	done
}

# iscsi_unstick_on_failure: on a failing exit, SIGKILL the daemon. A daemon stuck while the
# kernel waits for it would otherwise hold the guest's power-off (sync) until the VM timeout;
# without it, the waiting commands time out (cmd_time_out) and the guest can stop.
iscsi_unstick_on_failure() { trap _iscsi_on_exit EXIT; }
_iscsi_on_exit() {
	local rc=$?
	if ((rc != 0)) && [[ -n ${RDP_PID:-} ]]; then
		kill -KILL "$RDP_PID" 2>/dev/null || true
	fi
	exit "$rc"
}
iscsi_disk() { _iscsi_find_dev "$1" block; }
iscsi_sg() { _iscsi_find_dev "$1" scsi_generic; }

# iscsi_transport DISK: the SCSI host driver behind DISK (iscsi_tcp for an iSCSI disk).
iscsi_transport() {
	local host
	host=$(realpath "/sys/block/$1/device")
	host=${host%%/session*}
	cat "$host/scsi_host/${host##*/}/proc_name"
}

# vpd83_hex NODE: INQUIRY VPD page 83h of /dev/NODE as one line of hex digits.
vpd83_hex() {
	sg_vpd --page=0x83 --raw "/dev/$1" | od -An -tx1 | tr -d ' \n'
}
