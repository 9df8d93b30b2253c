#!/bin/bash
# The initiator host of the two-gateway cluster test (tests/vm/cluster-ha runs it with the two
# gateways of tests/vm/ha-gateway.sh). It logs in to both gateways over iSCSI, checks that they
# show one LUN over two target ports (same LU identity, relative port and target port group 1
# and 2, both active/optimized) and that reservations are refused by both, puts dm-multipath
# (multipathd, ALUA prioritizer: one group, round-robin over both gateways) on top, and runs a
# verifying random-write load on the map while gateway 1 fails three ways, each time coming
# back and carrying I/O again:
#   daemon   tcmu-rdpd killed (SIGKILL), left dead 25 s (longer than cmd_time_out), started again
#   power    the gateway's VM powered off (qemu killed by the host), 20 s, booted again
#   network  the gateway's eth0 down for 20 s
#   san      both of the gateway's paths to the LUN offline for 20 s: the gateway itself and its
#            network up; it must report its target port group unavailable meanwhile
# fio must end with no error and no verify mismatch. Prints the stall of each failure: the
# longest time in which no I/O completed, from fio's per-I/O completion log.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/ha-lib.sh"
source "$RDP_SRC/tests/vm/iscsi-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh" # rdp_fio

readonly INITIATOR=iqn.2005-03.org.open-iscsi:ha-host
declare -A DISK TARGET

ha_net_up "$HA_INITIATOR_IP"
ha_wait_for gw1.ready 400
ha_wait_for gw2.ready 400
modprobe scsi_dh_alua || vm_fail "modprobe scsi_dh_alua" # attaches to a disk that claims ALUA
iscsi_initiator_start "$INITIATOR"

# login N: discovery and login to gateway N, with the timeouts a multipath host sets (a dead
# portal is noticed by NOP-Out within 3 + 3 s, and its commands go back to dm-multipath 5 s later)
login() {
	local n=$1 portal out
	portal=$(ha_gateway_ip "$n"):3260
	TARGET[$n]=$(<"$VMOUT/gw$n.ready")
	out=$(iscsiadm -m discovery -t sendtargets -p "$portal" 2>&1) || vm_fail "discovery on $portal: $out"
	iscsiadm -m node -T "${TARGET[$n]}" -p "$portal" -o update \
		-n node.session.timeo.replacement_timeout -v 5 \
		-n 'node.conn[0].timeo.noop_out_interval' -v 3 \
		-n 'node.conn[0].timeo.noop_out_timeout' -v 3 >/dev/null || vm_fail "node settings for gw$n"
	out=$(iscsiadm -m node -T "${TARGET[$n]}" -p "$portal" --login 2>&1) || vm_fail "login to gw$n: $out"
	iscsi_wait_disk "${TARGET[$n]}"
	DISK[$n]=$(iscsi_disk "${TARGET[$n]}")
	vm_log "gw$n: ${TARGET[$n]} at $portal is /dev/${DISK[$n]}"
}
login 1
login 2

# --- one LUN, two target ports ------------------------------------------------------------------
# ports N: "LU=<hex of the LU designators> relport=R tpg=G" from gateway N's VPD 0x83 (raw)
ports() {
	sg_vpd --page=0x83 --raw "/dev/${DISK[$1]}" | python3 -c '
import sys
p = sys.stdin.buffer.read()
end, off, lu, rel, tpg = 4 + int.from_bytes(p[2:4], "big"), 4, b"", None, None
while off + 4 <= min(end, len(p)):
    n, assoc, kind = p[off + 3], (p[off + 1] >> 4) & 3, p[off + 1] & 15
    d = p[off:off + 4 + n]
    if assoc == 0:
        lu += d
    elif assoc == 1 and kind == 4:
        rel = int.from_bytes(d[6:8], "big")
    elif assoc == 1 and kind == 5:
        tpg = int.from_bytes(d[6:8], "big")
    off += 4 + n
print(f"LU={lu.hex()} relport={rel} tpg={tpg}")'
}
# rtpg_of N: gateway N's REPORT TARGET PORT GROUPS answer, raw, as "group:state:supported:ports"
# per group, e.g. 1:0:09:1 (group 1 active/optimized, AO and U supported, relative port 1)
rtpg_of() {
	sg_rtpg --raw "/dev/${DISK[$1]}" | python3 -c '
import sys
p = sys.stdin.buffer.read()
end, off, out = 4 + int.from_bytes(p[0:4], "big"), 4, []
while off + 8 <= min(end, len(p)):
    cnt, gid = p[off + 7], int.from_bytes(p[off + 2:off + 4], "big")
    ports = [int.from_bytes(p[off + 10 + 4 * i:off + 12 + 4 * i], "big") for i in range(cnt)]
    out.append(f"{gid}:{p[off] & 15}:{p[off + 1]:02x}:" + ",".join(map(str, ports)))
    off += 8 + 4 * cnt
print(" ".join(out))'
}
for n in 1 2; do
	id=$(ports "$n")
	lu[n]=${id%% *}
	[[ ${lu[n]} != "LU=" ]] || vm_fail "gw$n shows no logical-unit designator: $id"
	vm_assert_eq "relport=$n tpg=$n" "${id#* }" "relative target port and target port group of gw$n"
	sg_inq "/dev/${DISK[$n]}" | grep -q "TPGS=1" || vm_fail "gw$n's INQUIRY does not claim implicit ALUA (TPGS=1)"
	rtpg=$(rtpg_of "$n") || vm_fail "REPORT TARGET PORT GROUPS through gw$n: $rtpg"
	vm_assert_eq "1:0:09:1 2:0:09:2" "$rtpg" \
		"RTPG through gw$n (group:state:supported:ports; both active/optimized, one port each)"
done
vm_assert_eq "${lu[1]}" "${lu[2]}" "the LU designators of the two gateways"
vm_log "one LUN over two ports: LU ${lu[1]}, relative ports/groups 1 and 2, both active/optimized"

# --- reservations: refused by both gateways, never kept by one ---------------------------------
# refused WHAT "SG_RAW_OPTIONS" DEV CDB...: the command must end in CHECK CONDITION with ILLEGAL
# REQUEST, INVALID COMMAND OPERATION CODE (05/20/00), the answer of a LUN that has no reservations
refused() {
	local what=$1 opts=$2 dev=$3 out
	shift 3
	# shellcheck disable=SC2086 # the options are words
	if out=$(sg_raw -v $opts "$dev" "$@" 2>&1); then
		vm_fail "$what through $dev was accepted: $out"
	fi
	grep -qi "Sense key: Illegal Request" <<<"$out" && grep -qi "Invalid command operation code" <<<"$out" ||
		vm_fail "$what through $dev was not refused with 05/20/00: $out"
}
# PR OUT REGISTER of key 0x1234: its 24-byte parameter list
printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x12\x34\0\0\0\0\0\0\0\0' >/tmp/pr-register.bin
for n in 1 2; do
	if out=$(sg_persist --out --register --param-sark=0x1234 "/dev/${DISK[$n]}" 2>&1); then
		vm_fail "gw$n accepted PERSISTENT RESERVE OUT (REGISTER): $out"
	fi
	refused "PR OUT REGISTER" "-s 24 -i /tmp/pr-register.bin" "/dev/${DISK[$n]}" 5f 00 00 00 00 00 00 00 18 00
	refused "PR IN READ KEYS" "-r 256" "/dev/${DISK[$n]}" 5e 00 00 00 00 00 00 01 00 00
	refused "RESERVE(6)" "" "/dev/${DISK[$n]}" 16 00 00 00 00 00
	refused "RELEASE(6)" "" "/dev/${DISK[$n]}" 17 00 00 00 00 00
done
vm_log "reservations: PR OUT REGISTER, PR IN, RESERVE(6) and RELEASE(6) refused with 05/20/00 by both gateways"

# --- dm-multipath over both gateways -------------------------------------------------------------
mkdir -p /run/udev
/lib/systemd/systemd-udevd --daemon || vm_fail "systemd-udevd did not start"
udevadm trigger --action=add --subsystem-match=block --subsystem-match=scsi_generic >/dev/null 2>&1 || true
udevadm settle --timeout=60 || vm_log "udevadm settle timed out (going on)"
cat >/etc/multipath.conf <<'EOT'
defaults {
	user_friendly_names no
	find_multipaths off
	polling_interval 2
	max_polling_interval 4
}
overrides {
	path_grouping_policy group_by_prio
	prio alua
	path_checker tur
	path_selector "round-robin 0"
	failback immediate
	no_path_retry 12
}
EOT
multipathd -d -s -v3 >"$VMOUT/multipathd.log" 2>&1 &
mpd=$!
map_ready() {
	local out
	out=$(multipath -ll 2>/dev/null) || return 1
	(($(grep -c "active ready running" <<<"$out") == 2))
}
vm_wait 90 map_ready || vm_fail "no multipath map with both gateways: $(multipath -ll 2>&1)"
mp=$(multipath -ll)
echo "$mp"
# active/active: one path group (both prio 50) holding both gateways' disks
vm_assert_eq 1 "$(grep -c "policy='round-robin 0' prio=50" <<<"$mp" || true)" "path groups of prio 50 (one group of two)"
dm=$(basename "$(realpath "/dev/mapper/$(dmsetup ls --target multipath | cut -f1 | head -n 1)")")
vm_log "multipath map /dev/$dm over /dev/${DISK[1]} (gw1) and /dev/${DISK[2]} (gw2)"

# --- the load and the failures --------------------------------------------------------------------
# good_ios_of DISK: the commands the disk's SCSI device completed (iodone_cnt: those that
# reached it, the path checker's TEST UNIT READYs included), less those that ended in error
# (ioerr_cnt); requests failed before they reached the device (path offline, ALUA state) are in
# neither
good_ios_of() {
	local done err
	done=$(<"/sys/block/$1/device/iodone_cnt")
	err=$(<"/sys/block/$1/device/ioerr_cnt")
	echo $((done - err))
}
# carries N SECS: wait until gateway N's disk completes 50 more commands without error and its
# path is active in the map (the map uses it again, and it works; the checker's TURs, one per
# polling interval, cannot make up 50 in this time)
carries() {
	local n=$1 before
	before=$(good_ios_of "${DISK[$n]}")
	vm_wait "$2" _carries "${DISK[$n]}" "$((before + 50))" ||
		vm_fail "gw$n carries no I/O after $2 s: $(multipath -ll 2>&1)"
}
_carries() {
	(($(good_ios_of "$1") >= $2)) && multipath -ll 2>/dev/null | grep -q " $1 .*active ready running"
}
ask() { ha_say "$1"; ha_wait_for "$1.done" "$2"; rm -f "$VMOUT/$1.done"; }
phase_begin() { PHASE=$1; PHASE_T0=$EPOCHREALTIME; vm_log "--- $1: gw1 fails"; }
phase_end() {
	echo "$PHASE $PHASE_T0 $EPOCHREALTIME" >>"$VMOUT/phases.txt"
	vm_log "--- $PHASE: gw1 carries I/O again"
}
: >"$VMOUT/phases.txt"

t_fio=$EPOCHREALTIME
rdp_fio ha "$dm" --size=128M --time_based --runtime=3600 --verify_backlog=128 --eta=never \
	--write_lat_log="$VMOUT/ha" --log_avg_msec=0 &
fio_pid=$!
sleep 10
carries 1 30
carries 2 30

phase_begin daemon
ask gw1.kill-daemon 30
sleep 25
ask gw1.start-daemon 60
carries 1 90
phase_end

phase_begin power
ask host.poweroff-gw1 60
sleep 20
rm -f "$VMOUT/gw1.ready"
ha_say host.boot-gw1
ha_wait_for gw1.ready 400
carries 1 120
phase_end

phase_begin network
ask gw1.net-down 30
sleep 20
ask gw1.net-up 30
carries 1 120
phase_end

phase_begin san
ask gw1.san-down 30
sleep 8
rtpg=$(rtpg_of 1) || vm_fail "RTPG through gw1 without its SAN paths: $rtpg"
vm_assert_eq "1:3:09:1 2:0:09:2" "$rtpg" "RTPG through gw1 without its SAN paths (its group unavailable)"
sleep 12
ask gw1.san-up 30
carries 1 120
rtpg=$(rtpg_of 1) || vm_fail "RTPG through gw1 with its SAN paths back: $rtpg"
vm_assert_eq "1:0:09:1 2:0:09:2" "$rtpg" "RTPG through gw1 with its SAN paths back"
phase_end

sleep 5
kill -0 "$fio_pid" 2>/dev/null || vm_fail "fio ended early: $(tail -n 20 "$VMOUT/ha.json")"
# the main fio process (the oldest), which stops its job and writes the results; never the job
# process itself
pkill -TERM -o -x fio
fio_ended() { ! kill -0 "$fio_pid" 2>/dev/null; }
if ! vm_wait 120 fio_ended; then
	for f in /sys/block/*/inflight; do echo "$f: $(<"$f")"; done
	for p in $(pgrep -x fio); do echo "fio $p waits in $(<"/proc/$p/wchan")"; cat "/proc/$p/stack"; done
	multipath -ll
	vm_fail "fio did not stop within 120 s of SIGTERM"
fi
rc=0
wait "$fio_pid" || rc=$?
((rc == 0 || rc == 128 || rc == 128 + 15)) || vm_fail "fio exited $rc" # 128: fio stopped by our signal
sed -i '/^{/,$!d' "$VMOUT/ha.json" # the "terminating on signal" line before the JSON
figures=$(rdp_fio_figures ha)
vm_log "fio: $figures"
[[ $figures == *" errors=0 "* ]] || vm_fail "fio saw errors or verify mismatches: $figures"

stalls=$(python3 - "$VMOUT/ha_clat.1.log" "$VMOUT/phases.txt" "$t_fio" <<'PY'
import sys
done = sorted(int(l.split(",")[0]) for l in open(sys.argv[1]) if l.strip())
t_fio = float(sys.argv[3])
out = []
for line in open(sys.argv[2]):
    name, a, b = line.split()
    lo, hi = (float(a) - t_fio) * 1000, (float(b) - t_fio) * 1000
    ts = [t for t in done if lo <= t <= hi]
    gap = max((y - x for x, y in zip([lo] + ts, ts + [hi])), default=hi - lo)
    out.append(f"{name}_stall_s={gap / 1000:.1f} {name}_ios={len(ts)}")
print(" ".join(out))
PY
)
vm_log "stalls: $stalls"

for n in 1 2; do
	iscsiadm -m node -T "${TARGET[$n]}" --logout >/dev/null 2>&1 || vm_fail "logout from gw$n"
done
kill "$mpd" 2>/dev/null || true
for n in 1 2; do ha_say "gw$n.stop"; done
echo "RESULT ha: $figures $stalls"
