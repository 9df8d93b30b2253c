# shellcheck shell=bash
# Helpers for VM test scripts, sourced inside the guest that tests/vm/vm-run boots:
#   source "$RDP_SRC/tests/vm/guest-lib.sh"
# Backing paths come from scsi_debug (several hosts, one shared store, one WWID); faults are
# injected per path through sysfs. Every helper fails the test (exit 1) instead of returning errors.

# --- logging and assertions ---------------------------------------------------------------------

# vm_log MSG...: one progress line on stderr, stamped with the guest's uptime.
vm_log() {
	local up _
	read -r up _ </proc/uptime
	printf '[vm %7.2f] %s\n' "$up" "$*" >&2
}

# vm_fail MSG...: reports a test failure with the recent kernel log (the console shows only
# errors, loglevel=3) and exits 1.
vm_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	echo "--- last kernel messages:" >&2
	dmesg 2>/dev/null | tail -n 15 >&2 || true
	exit 1
}

# vm_assert_eq EXPECTED ACTUAL [WHAT]
vm_assert_eq() {
	[[ $1 == "$2" ]] || vm_fail "${3:-value}: expected '$1', got '$2'"
}

# vm_wait SECS CMD [ARGS...]: polls CMD every 0.1 s until it succeeds; returns 1 after SECS.
vm_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# --- backing paths (scsi_debug) -----------------------------------------------------------------
# After vm_scsi_debug_paths N, path I (0..N-1, in scsi host order) is:
#   PATH_SG[I]   /dev/sgX          PATH_SD[I]  sdX (which sdX varies from boot to boot)
#   PATH_HOST[I] scsi host number  PATH_HCTL[I] H:C:T:L (/sys/class/scsi_device/<it>/device/…)
# plus PATH_COUNT and WWID. Bash cannot export arrays: children get VM_PATH_SG ("/dev/sg0 …"),
# VM_PATH_SD, VM_PATH_HOST, PATH_COUNT and WWID in the environment instead.
PATH_SG=()
PATH_SD=()
PATH_HOST=()
PATH_HCTL=()
PATH_COUNT=0
WWID=""

_vm_trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	echo "${s%"${s##*[![:space:]]}"}"
}

# _vm_resolve_path I: fills path I from its host's first LUN; returns 1 until the device is
# fully there (sg and sd bound, WWID readable, device nodes created by devtmpfs).
_vm_resolve_path() {
	local i=$1 host=${PATH_HOST[$1]} devs sgs sds
	devs=(/sys/class/scsi_host/host"$host"/device/target"$host":*/"$host":*)
	[[ -d ${devs[0]} ]] || return 1
	sgs=("${devs[0]}"/scsi_generic/sg*)
	sds=("${devs[0]}"/block/sd*)
	[[ -e ${sgs[0]} && -e ${sds[0]} && -r ${devs[0]}/wwid ]] || return 1
	[[ -c /dev/${sgs[0]##*/} && -b /dev/${sds[0]##*/} ]] || return 1
	PATH_SG[i]=/dev/${sgs[0]##*/}
	PATH_SD[i]=${sds[0]##*/}
	PATH_HCTL[i]=${devs[0]##*/}
}

_vm_resolve_all() {
	local i
	for ((i = 0; i < PATH_COUNT; i++)); do
		_vm_resolve_path "$i" || return 1
	done
}

_vm_export_paths() {
	export PATH_COUNT WWID
	export VM_PATH_SG="${PATH_SG[*]}" VM_PATH_SD="${PATH_SD[*]}" VM_PATH_HOST="${PATH_HOST[*]}"
}

# _vm_check_path I: fails the test unless I is a path index. Call it in the test's own shell,
# never inside $(...), where vm_fail would only end the subshell.
_vm_check_path() {
	if [[ ! $1 =~ ^[0-9]+$ ]] || (($1 >= PATH_COUNT)); then
		vm_fail "no path '$1' (have $PATH_COUNT)"
	fi
}

_vm_sysfs() { echo "/sys/class/scsi_device/${PATH_HCTL[$1]}/device"; }

# vm_scsi_debug_paths N [PARAM=VALUE...]: N paths to one 256 MiB LUN. Extra scsi_debug module
# parameters are appended (and win over the defaults). Sets the PATH_* arrays and WWID.
vm_scsi_debug_paths() {
	local n=${1-} h i w
	[[ $n =~ ^[1-9][0-9]*$ ]] || vm_fail "vm_scsi_debug_paths: need a path count, got '$n'"
	shift
	[[ ! -d /sys/module/scsi_debug ]] || vm_fail "scsi_debug is already loaded"
	modprobe scsi_debug add_host="$n" dev_size_mb=256 vpd_use_hostno=0 "$@" ||
		vm_fail "modprobe scsi_debug $*"
	PATH_HOST=()
	for h in /sys/class/scsi_host/host*; do
		[[ $(<"$h/proc_name") == scsi_debug ]] && PATH_HOST+=("${h##*/host}")
	done
	mapfile -t PATH_HOST < <(printf '%s\n' "${PATH_HOST[@]}" | sort -n)
	((${#PATH_HOST[@]} == n)) || vm_fail "scsi_debug made ${#PATH_HOST[@]} hosts, wanted $n"
	PATH_COUNT=$n
	PATH_SG=() PATH_SD=() PATH_HCTL=()
	# sd probes asynchronously; the sg nodes come first.
	vm_wait 30 _vm_resolve_all || vm_fail "scsi_debug: $n paths (sg + sd + wwid) did not appear"
	WWID=$(_vm_trim "$(<"/sys/class/scsi_device/${PATH_HCTL[0]}/device/wwid")")
	for ((i = 1; i < n; i++)); do
		w=$(_vm_trim "$(<"/sys/class/scsi_device/${PATH_HCTL[i]}/device/wwid")")
		[[ $w == "$WWID" ]] || vm_fail "path $i has WWID $w, path 0 has $WWID (vpd_use_hostno=0 lost?)"
	done
	_vm_export_paths
	for ((i = 0; i < n; i++)); do
		vm_log "path $i: host${PATH_HOST[i]} ${PATH_HCTL[i]} ${PATH_SG[i]} ${PATH_SD[i]}"
	done
	vm_log "WWID $WWID"
}

# vm_path_offline I / vm_path_online I: the path's device state; offline makes open and SG_IO
# fail at once with ENXIO (queued commands return DID_NO_CONNECT).
vm_path_offline() {
	_vm_check_path "$1"
	echo offline >"$(_vm_sysfs "$1")/state" || vm_fail "cannot set path $1 offline"
}
vm_path_online() {
	_vm_check_path "$1"
	echo running >"$(_vm_sysfs "$1")/state" || vm_fail "cannot set path $1 running"
}

# vm_path_state I: prints running / offline / blocked / …
vm_path_state() {
	_vm_check_path "$1"
	cat "$(_vm_sysfs "$1")/state"
}

# vm_path_delete I: removes the path's SCSI device (open fds then get ENODEV); vm_rescan_host I
# brings it back.
vm_path_delete() {
	_vm_check_path "$1"
	local dev
	dev=$(_vm_sysfs "$1")
	echo 1 >"$dev/delete" || vm_fail "cannot delete path $1"
	vm_wait 10 test ! -e "$dev" || vm_fail "path $1 (${PATH_HCTL[$1]}) still there after delete"
}

# strand_on / strand_off: every scsi_debug path ignores every command (every_nth=1, opts=4:
# module-wide, so all paths hang at once; the midlayer returns each command at its timeout) and
# answers again. Tests that call strand_on set `trap strand_off EXIT`.
readonly VM_SDEBUG=/sys/bus/pseudo/drivers/scsi_debug
strand_on() { echo 1 >"$VM_SDEBUG/every_nth"; echo 4 >"$VM_SDEBUG/opts"; }
strand_off() { echo 0 >"$VM_SDEBUG/opts"; echo 0 >"$VM_SDEBUG/every_nth"; }

# vm_qemu_disk WWID: the /dev/sgN of the qemu SCSI disk a "# vm-scsi-disk: SIZE 0xWWN" line of the
# test asked for (its identity is naa.WWN), once virtio_scsi has found it (waits up to 30 s).
_vm_sg_of_wwid() {
	local g
	for g in /sys/class/scsi_generic/sg*; do
		[[ $(cat "$g/device/wwid" 2>/dev/null) == "$1" ]] && { echo "/dev/${g##*/}"; return 0; }
	done
	return 1
}
vm_qemu_disk() {
	modprobe virtio_scsi
	vm_wait 30 _vm_sg_of_wwid "$1" >/dev/null || vm_fail "the qemu SCSI disk $1 did not appear"
	_vm_sg_of_wwid "$1"
}

# vm_rescan_host I: rescans path I's scsi host and waits for its device; the sg/sd names may
# change, so PATH_SG[I] / PATH_SD[I] are updated.
vm_rescan_host() {
	_vm_check_path "$1"
	local i=$1
	echo "- - -" >"/sys/class/scsi_host/host${PATH_HOST[i]}/scan" || vm_fail "rescan host${PATH_HOST[i]}"
	vm_wait 30 _vm_resolve_path "$i" || vm_fail "path $i did not come back after rescan"
	_vm_export_paths
	vm_log "path $i back: host${PATH_HOST[i]} ${PATH_HCTL[i]} ${PATH_SG[i]} ${PATH_SD[i]}"
}

# --- D-Bus and targetcli ------------------------------------------------------------------------

readonly VM_DBUS_SOCKET=/run/dbus/system_bus_socket

# vm_start_dbus [POLICY.conf...]: system bus with the given policy files added to
# /etc/dbus-1/system.d/ (the overlay root is writable). When the bus already runs, the policies
# are added and the bus reloads its configuration.
# shellcheck disable=SC2120 # the policy files are for the tests' calls
vm_start_dbus() {
	local f
	mkdir -p /run/dbus /etc/dbus-1/system.d
	for f in "$@"; do
		install -m 0644 "$f" /etc/dbus-1/system.d/ || vm_fail "cannot install D-Bus policy $f"
	done
	if [[ -S $VM_DBUS_SOCKET ]]; then
		dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.ReloadConfig >/dev/null || vm_fail "D-Bus ReloadConfig failed"
		return 0
	fi
	dbus-daemon --system --fork || vm_fail "dbus-daemon --system failed"
	vm_wait 10 test -S "$VM_DBUS_SOCKET" || vm_fail "no $VM_DBUS_SOCKET after starting dbus-daemon"
}

# vm_targetcli <<EOF ... EOF: one targetcli run (each start costs seconds under TCG) with the
# commands on stdin; targetcli's stdout is passed through. targetcli exits 0 even when a command
# of a stdin batch fails (it logs the error on stderr and runs the next command), so any output
# on stderr or a non-zero exit fails the test with the full output. Starts the system bus first
# if needed (targetcli wants one even for kernel backstores).
vm_targetcli() {
	local cmds lines out err rc=0
	cmds=$(cat)
	mapfile -t lines <<<"$cmds"
	# shellcheck disable=SC2119 # no policy needed for targetcli itself
	[[ -S $VM_DBUS_SOCKET ]] || vm_start_dbus
	out=$(mktemp) err=$(mktemp)
	targetcli <<<"$cmds" >"$out" 2>"$err" || rc=$?
	if ((rc != 0)) || [[ -s $err ]]; then
		{
			echo "targetcli failed (exit $rc); commands:"
			printf '  > %s\n' "${lines[@]}"
			echo "stdout:"
			cat "$out"
			echo "stderr:"
			cat "$err"
		} >&2
		rm -f "$out" "$err"
		vm_fail "targetcli"
	fi
	cat "$out"
	rm -f "$out" "$err"
}
