# shellcheck shell=bash
# Guest helpers for the gateway's VM tests: start tcmu-rdpd, create user:rdp backstores behind a
# tcm_loop LUN, find the initiator-side disk, run fio with verification and read its figures.
#   source "$RDP_SRC/tests/vm/guest-lib.sh"; source "$RDP_SRC/tests/vm/rdp-lib.sh"

RDPD=${RDPD:-$RDP_SRC/build/handler/tcmu-rdpd} # a test may run another build's
RDPCTL=$RDP_SRC/build/tools/rdpctl
RDP_PROBE=$RDP_SRC/build/tools/rdp-probe
RDP_LOG=${RDP_LOG:-${VMOUT:-/tmp}/tcmu-rdpd.log} # cluster guests share VMOUT: each its own
RDP_LOOP_WWN=naa.5001405000000001
RDP_PID=

# rdp_start [ARGS...]: system bus with our policy, then the daemon, logging to $RDP_LOG; waits
# until it owns org.kernel.TCMUService1.
rdp_start() {
	[[ -x $RDPD ]] || vm_fail "$RDPD not built (run ninja -C build on the host first)"
	vm_start_dbus "$RDP_SRC/config/org.kernel.TCMUService1.conf" "$RDP_SRC/config/org.tcmu_rdp.Manager1.conf"
	"$RDPD" --log-level debug "$@" >>"$RDP_LOG" 2>&1 &
	RDP_PID=$!
	vm_wait 30 _rdp_owned || { cat "$RDP_LOG" >&2; vm_fail "tcmu-rdpd did not come up"; }
	vm_log "tcmu-rdpd running (pid $RDP_PID)"
}

_rdp_owned() {
	kill -0 "$RDP_PID" 2>/dev/null || return 2
	dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.kernel.TCMUService1 2>/dev/null |
		grep -q "boolean true"
}

# rdp_stop: SIGTERM, wait; the daemon logs its summary on the way out.
rdp_stop() {
	[[ -n $RDP_PID ]] || return 0
	kill -TERM "$RDP_PID" 2>/dev/null || true
	wait "$RDP_PID" 2>/dev/null || true
	RDP_PID=
}

# rdp_summary: ask the running daemon for its counters (SIGUSR1) and print the summary lines.
rdp_summary() {
	local n
	n=$(grep -c "summary " "$RDP_LOG" || true)
	kill -USR1 "$RDP_PID"
	vm_wait 10 _rdp_more_summaries "$n" || vm_fail "no summary in the daemon log"
	sleep 0.2
	grep "summary " "$RDP_LOG" | tail -n +$((n + 1))
}
_rdp_more_summaries() { (($(grep -c "summary " "$RDP_LOG" || true) > $1)); }

# rdp_export NAME CFGSTRING [SIZE] [CONTROL]: one targetcli run that creates the user:rdp
# backstore NAME (default 128M; CONTROL: TCMU control options such as data_pages_per_blk=32)
# and puts it behind LUN 0 of the tcm_loop target $RDP_LOOP_WWN.
rdp_export() {
	vm_targetcli >/dev/null <<EOT
/backstores/user:rdp create name=$1 size=${3:-128M} cfgstring=$2${4:+ control=$4}
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/user:rdp/$1
EOT
}

# rdp_loop_disk: the sdX that tcm_loop shows for LUN 0 (waits for it).
_rdp_find_loop_disk() {
	local h d
	for h in /sys/class/scsi_host/host*; do
		[[ $(<"$h/proc_name") == tcm_loopback ]] || continue
		for d in "$h"/device/target*/*/block/sd*; do
			[[ -e $d ]] || continue
			[[ -b /dev/${d##*/} ]] || continue
			echo "${d##*/}"
			return 0
		done
	done
	return 1
}
rdp_loop_disk() {
	local disk
	vm_wait 60 _rdp_find_loop_disk >/dev/null || vm_fail "no tcm_loop disk appeared"
	disk=$(_rdp_find_loop_disk)
	echo "$disk"
}

# rdp_fio NAME DISK [fio args...]: random writes of mixed sizes with crc32c verify; JSON result in
# $VMOUT/NAME.json. Returns fio's exit code.
# fio runs in $VMOUT: it writes its verify state file into the current directory when a job
# stops during its write phase (the guest's root is read-only; the state is kept for a look).
rdp_fio() {
	local name=$1 disk=$2
	shift 2
	(cd "${VMOUT:-/tmp}" && fio --name="$name" --filename="/dev/$disk" --direct=1 --ioengine=libaio \
		--rw=randwrite --bsrange=4k-64k --size=48M --iodepth=16 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=1234 \
		--output-format=json --output="$VMOUT/$name.json" "$@")
}

# rdp_fio_figures NAME: "ios=N errors=N max_clat_ms=X" from the fio JSON.
rdp_fio_figures() {
	python3 - "$VMOUT/$1.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
ios = j["write"]["total_ios"] + j["read"]["total_ios"]
mx = max(j["write"]["clat_ns"]["max"], j["read"]["clat_ns"]["max"]) / 1e6
print(f"ios={ios} errors={j['error']} max_clat_ms={mx:.1f} write_mb={j['write']['io_bytes']/1048576:.1f} verify_mb={j['read']['io_bytes']/1048576:.1f}")
PY
}

# rdp_vpd83 DISK: the page as hex, read through the initiator-side disk.
rdp_vpd83() {
	sg_vpd --page=0x83 --raw "/dev/$1" | od -An -tx1 | tr -d ' \n'
}
