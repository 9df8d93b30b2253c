#!/bin/bash
# VM benchmark, guest side (run by tests/bench/run through tests/vm/vm-run; docs/performance.md,
# "VM benchmark"). Two scsi_debug paths to one LUN; the same tcm_loop front end exports, one after
# the other (each export torn down before the next):
#   rdp  user:rdp (tcmu-rdpd), paths = both sg devices, grouping = multibus, selector = queue-length
#   dm   LIO block backstore on a dm-multipath device over both sd devices (queue-length, one group)
#   one  LIO block backstore on one sd device
# fio (libaio, direct) on the tcm_loop disk: 4k randread QD1 and QD32, 4k randwrite QD32, 128k
# sequential read QD8; then, for rdp and dm, two failover stalls under 4k randwrite QD8, FO_FAULT_AT
# s into the run: "offline" (path 0 set offline: I/O on it fails at once) and "hang" (commands stop
# being answered and time out after the path timeout, HANG_TIMEOUT s, for both stacks; see hang_on
# for why this is module-wide). Then aggregation: scsi_debug made latency-bound (AGG_NDELAY ns per
# command, queue_depth AGG_QDEPTH per path), 4k randread QD32 over 1, 2 and 4 paths, rdp and dm.
# scsi_debug has 4 hosts (paths); the cases above use paths 0 and 1.
# Results: $VMOUT/bench.json (+ the raw fio JSON and latency logs).
# Environment (for quick checks): BENCH_RUNTIME (10), BENCH_RAMP (2), FO_RUNTIME (20),
# FO_FAULT_AT (8), BENCH_FAILOVER (1; 0 skips both stalls), BENCH_AGG (1; 0 skips aggregation),
# AGG_RUNTIME (10), BENCH_DIO (1: sg allow_dio=1 for rdp), BENCH_SCALE (1; 0 skips the scale
# part: SCALE_LUNS (1,2,4,8) LUNs at once, each on its own scsi_debug LUN over 2 paths, 4k randread QD32
# per LUN; one LUN at QD 1/8/32/128; one LUN beside a CPU-bound process), BENCH_MAIN (1; 0 skips
# the four cases and the failover stalls of rdp, dm and one path), given as VAR=VALUE.
set -euo pipefail
for a in "$@"; do # VAR=VALUE arguments from tests/bench/run
	case $a in
	BENCH_RUNTIME=* | BENCH_RAMP=* | FO_RUNTIME=* | FO_FAULT_AT=* | BENCH_FAILOVER=* | BENCH_AGG=* | \
		AGG_RUNTIME=* | BENCH_DIO=* | BENCH_SCALE=* | SCALE_LUNS=* | BENCH_MAIN=*) export "${a?}" ;;
	*) echo "guest-bench: unknown argument $a" >&2; exit 2 ;;
	esac
done
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

RUNTIME=${BENCH_RUNTIME:-10}
RAMP=${BENCH_RAMP:-2}
FO_RUNTIME=${FO_RUNTIME:-20}
FO_FAULT_AT=${FO_FAULT_AT:-8}
FAILOVER=${BENCH_FAILOVER:-1}
AGG=${BENCH_AGG:-1}
AGG_RUNTIME=${AGG_RUNTIME:-10}
AGG_NDELAY=10000000 # 10 ms per command
AGG_QDEPTH=4        # per path: 400 commands/s at most
DIO=${BENCH_DIO:-1}
SCALE=${BENCH_SCALE:-1}
MAIN=${BENCH_MAIN:-1}
IFS=, read -ra SCALE_N <<<"${SCALE_LUNS:-1,2,4,8}"
SCALE_QD=(1 8 128) # and 32: the 1-LUN case of SCALE_N
HANG_TIMEOUT=5  # s: rdp cmd_timeout, and the sd devices' timeout for dm
HANG_EVERY=200  # scsi_debug every_nth while the hang fault is on
HANG_WINDOW=0.5 # s the hang fault is on
SDEBUG=/sys/bus/pseudo/drivers/scsi_debug
RES=$VMOUT/bench
mkdir -p "$RES"

# name rw bs iodepth
CASES=(
	"randread-4k-qd1 randread 4k 1"
	"randread-4k-qd32 randread 4k 32"
	"randwrite-4k-qd32 randwrite 4k 32"
	"seqread-128k-qd8 read 128k 8"
)

vm_scsi_debug_paths 4
SIZE_MB=256
# sg moves data straight to and from the TCMU data area only with allow_dio (docs/operations.md)
echo "$DIO" >/sys/module/sg/parameters/allow_dio
echo "{\"sg_allow_dio\": $DIO}" >"$RES/rdp-sg.json"

cat >/tmp/bench.conf <<EOT
[bench]
paths = ${PATH_SG[0]};${PATH_SG[1]}
grouping = multibus
selector = queue-length
cmd_timeout = $HANG_TIMEOUT
EOT

# front_info BACKEND DISK: what the initiator sees, for the JSON
front_info() {
	local q=/sys/block/$2/queue
	printf '{"disk":"%s","max_sectors_kb":%s,"queue_depth":%s}\n' "$2" "$(<"$q/max_sectors_kb")" \
		"$(<"/sys/block/$2/device/queue_depth")" >"$RES/$1-front.json"
}

# perf BACKEND DISK: the four fio cases, one JSON each
perf() {
	local be=$1 disk=$2 c name rw bs qd
	front_info "$be" "$disk"
	for c in "${CASES[@]}"; do
		read -r name rw bs qd <<<"$c"
		vm_log "$be: $name on /dev/$disk"
		fio --name="$be-$name" --filename="/dev/$disk" --direct=1 --ioengine=libaio --rw="$rw" \
			--bs="$bs" --iodepth="$qd" --size="$((SIZE_MB - 16))M" --time_based \
			--runtime="$RUNTIME" --ramp_time="$RAMP" --randrepeat=0 --norandommap --eta=never \
			--output-format=json --output="$RES/$be-$name.json" >/dev/null ||
			vm_fail "fio $be $name"
	done
}

# The "hang" fault: commands that are never answered, so they time out (after HANG_TIMEOUT s:
# rdp's cmd_timeout, the sd devices' timeout for dm) and come back through the SCSI error handler
# as DID_TIME_OUT. Linux 6.1 has no per-device way to do this with scsi_debug (its TIMEOUT
# injection, opts bit 4 with every_nth, counts commands over the whole module; per-device error
# injection came in 6.7; the block layer's fail_io_timeout needs CONFIG_FAIL_IO_TIMEOUT, off in
# Debian's kernel; a host or device in a blocked state holds commands before they start, so they
# never time out). So this is the module-wide approximation: for HANG_WINDOW s, every
# HANG_EVERY-th command of the module, on whichever path it went, is swallowed.
hang_on() {
	echo 1 >"$SDEBUG/statistics"
	echo "$HANG_EVERY" >"$SDEBUG/every_nth"
	echo 4 >"$SDEBUG/opts"
}
hang_off() {
	echo 0 >"$SDEBUG/opts"
	echo 0 >"$SDEBUG/every_nth"
}
timeouts() { # commands that timed out on paths 0 and 1 so far
	echo $(($(<"$(_vm_sysfs 0)/iotmo_cnt") + $(<"$(_vm_sysfs 1)/iotmo_cnt")))
}

# failover BACKEND DISK KIND: 4k randwrite QD8; at FO_FAULT_AT s the fault KIND: "offline" (path 0
# set offline until fio ends) or "hang" (hang_on for HANG_WINDOW s). Per-I/O completion log for the
# worst latency and the longest completion gap.
failover() {
	local be=$1 disk=$2 kind=$3 rc=0 faults sampler t0 k
	vm_log "$be: failover stall ($kind) at ${FO_FAULT_AT}s"
	t0=$(timeouts)
	(
		sleep "$FO_FAULT_AT"
		if [[ $kind == offline ]]; then
			vm_log "$be: path 0 (${PATH_SD[0]}) offline"
			vm_path_offline 0
		else
			vm_log "$be: hang on (every ${HANG_EVERY}th command of the module swallowed)"
			hang_on
			sleep "$HANG_WINDOW"
			hang_off
			vm_log "$be: hang off"
		fi
	) &
	faults=$!
	# what the paths see meanwhile: commands issued and done per path, every 0.5 s
	(
		for ((k = 0; k < FO_RUNTIME * 2; k++)); do
			echo "$k $(<"$(_vm_sysfs 0)/iorequest_cnt") $(<"$(_vm_sysfs 0)/iodone_cnt")" \
				"$(<"$(_vm_sysfs 1)/iorequest_cnt") $(<"$(_vm_sysfs 1)/iodone_cnt")"
			sleep 0.5
		done
	) >"$RES/$be-$kind-paths.txt" &
	sampler=$!
	fio --name="$be-$kind" --filename="/dev/$disk" --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=8 --size="$((SIZE_MB - 16))M" --time_based --runtime="$FO_RUNTIME" \
		--randrepeat=0 --norandommap --eta=never --disable_slat=1 \
		--write_lat_log="$RES/$be-$kind" --log_avg_msec=0 \
		--output-format=json --output="$RES/$be-$kind.json" >/dev/null || rc=$?
	wait "$faults"
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	echo "$rc" >"$RES/$be-$kind.rc"
	echo $(($(timeouts) - t0)) >"$RES/$be-$kind.timeouts"
	vm_log "$be: $kind fio exit $rc, $(<"$RES/$be-$kind.timeouts") commands timed out"
	[[ $kind == hang ]] || vm_path_online 0
}

teardown_loop() {
	vm_wait 30 test -z "$(_rdp_find_loop_disk)" || vm_fail "tcm_loop disk did not go away"
}

_path0_active() { grep -c "path ${PATH_SG[0]} [a-z]* -> active" "$RDP_LOG" || true; }
_path0_back() { (($(_path0_active) > $1)); }

sectors=$(blockdev --getsz "/dev/${PATH_SD[0]}")
majmin() { cat "/sys/block/$1/dev"; }

if ((MAIN)); then
# --- (a) tcmu-rdp ---------------------------------------------------------------------------------
rdp_start --config /tmp/bench.conf
rdp_export bench bench "${SIZE_MB}M"
disk=$(rdp_loop_disk)
perf rdp "$disk"
if ((FAILOVER)); then
	back=$(_path0_active)
	failover rdp "$disk" offline
	# both paths carry I/O again before the next fault (the checker brings path 0 back)
	vm_wait 30 _path0_back "$back" || vm_fail "rdp: path 0 did not come back after the offline fault"
	failover rdp "$disk" hang
	sleep 2
fi
rdp_summary >"$RES/rdp-summary.txt" || true
vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/user:rdp delete bench
EOT
teardown_loop
rdp_stop

# --- (b) dm-multipath -------------------------------------------------------------------------------
# <start> <len> multipath <#features> <#hw handler args> <#path groups> <initial group>
#   <selector> <#selector args> <#paths> <#path args> {<path> <repeat_count>}...
table="0 $sectors multipath 0 0 1 1 queue-length 0 2 1 $(majmin "${PATH_SD[0]}") 1 $(majmin "${PATH_SD[1]}") 1"
vm_log "dm table: $table"
dmsetup create mpbench --table "$table" || vm_fail "dmsetup create"
dmsetup mknodes
dmsetup table mpbench >"$RES/dm-table.txt"
vm_targetcli >/dev/null <<EOT
/backstores/block create name=mp dev=/dev/mapper/mpbench
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/block/mp
EOT
disk=$(rdp_loop_disk)
perf dm "$disk"
if ((FAILOVER)); then
	failover dm "$disk" offline
	dmsetup status mpbench >"$RES/dm-status-after-offline.txt"
	dmsetup message mpbench 0 "reinstate_path $(majmin "${PATH_SD[0]}")" || true
	# the same path timeout as rdp's cmd_timeout
	for i in 0 1; do echo "$HANG_TIMEOUT" >"/sys/block/${PATH_SD[i]}/device/timeout"; done
	sleep 1
	failover dm "$disk" hang
	dmsetup status mpbench >"$RES/dm-status-after-hang.txt"
	for i in 0 1; do echo 30 >"/sys/block/${PATH_SD[i]}/device/timeout"; done
fi
vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/block delete mp
EOT
teardown_loop
dmsetup remove mpbench || vm_fail "dmsetup remove"

# --- (c) one path ---------------------------------------------------------------------------------
vm_targetcli >/dev/null <<EOT
/backstores/block create name=one dev=/dev/${PATH_SD[0]}
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/block/one
EOT
disk=$(rdp_loop_disk)
perf one "$disk"
vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/block delete one
EOT

fi # MAIN

# --- (d) aggregation over latency-bound paths -------------------------------------------------------
# scsi_debug answers each command after AGG_NDELAY and each path takes AGG_QDEPTH at a time, so a
# path carries at most AGG_QDEPTH / AGG_NDELAY commands a second and more paths can add up.
agg_fio() { # NAME DISK → IOPS
	fio --name="$1" --filename="/dev/$2" --direct=1 --ioengine=libaio --rw=randread --bs=4k \
		--iodepth=32 --size="$((SIZE_MB - 16))M" --time_based --runtime="$AGG_RUNTIME" \
		--ramp_time="$RAMP" --randrepeat=0 --norandommap --eta=never --output-format=json \
		--output="$RES/$1.json" >/dev/null || vm_fail "fio $1"
}
if ((AGG)); then
	teardown_loop
	echo "$AGG_NDELAY" >"$SDEBUG/ndelay" || vm_fail "scsi_debug ndelay"
	for i in 0 1 2 3; do echo "$AGG_QDEPTH" >"/sys/block/${PATH_SD[i]}/device/queue_depth"; done
	echo "{\"ndelay_ns\": $AGG_NDELAY, \"queue_depth\": $AGG_QDEPTH}" >"$RES/agg-setup.json"
	for n in 1 2 4; do
		# a device belongs to one LUN section only: a configuration and daemon start per run
		paths=$(printf '%s;' "${PATH_SG[@]:0:n}")
		printf '[agg%s]\npaths = %s\ngrouping = multibus\nselector = queue-length\n' "$n" \
			"${paths%;}" >"/tmp/agg$n.conf"
		rdp_start --config "/tmp/agg$n.conf"
		rdp_export "agg$n" "agg$n" "${SIZE_MB}M"
		vm_log "rdp: aggregation over $n paths"
		agg_fio "rdp-agg$n" "$(rdp_loop_disk)"
		vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/user:rdp delete agg$n
EOT
		teardown_loop
		rdp_stop
	done
	for n in 1 2 4; do
		table="0 $sectors multipath 0 0 1 1 queue-length 0 $n 1"
		for ((i = 0; i < n; i++)); do table+=" $(majmin "${PATH_SD[i]}") 1"; done
		dmsetup create "mpagg$n" --table "$table" || vm_fail "dmsetup create mpagg$n"
		dmsetup mknodes
		vm_targetcli >/dev/null <<EOT
/backstores/block create name=agg$n dev=/dev/mapper/mpagg$n
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/block/agg$n
EOT
		vm_log "dm: aggregation over $n paths"
		agg_fio "dm-agg$n" "$(rdp_loop_disk)"
		vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/block delete agg$n
EOT
		teardown_loop
		dmsetup remove "mpagg$n" || vm_fail "dmsetup remove mpagg$n"
	done
fi

# --- (e) scale: LUNs at once, queue depth, a competing CPU hog ----------------------------------
# scsi_debug again with 2 hosts (paths) and one LUN per LUN served (max_luns): LUN l has the same
# identity on both hosts and its own on each l (vpd_use_hostno=0). rdp serves them from one
# daemon; dm gets one map per LUN. fio runs one job per front disk in one process and reports
# the sum; the daemon's CPU time (utime + stime) and the front disks' completed I/Os are read
# around each run.
scale_dev() { # HOST_INDEX LUN sg|block → the device name
	local h=${PATH_HOST[$1]} d
	for d in /sys/class/scsi_host/host"$h"/device/target"$h":*/"$h":*:"$2"/"$3"/*; do
		[[ -e $d ]] && { echo "${d##*/}"; return 0; }
	done
	return 1
}
_scale_devs_ready() {
	local l i
	for ((l = 0; l < SCALE_MAX; l++)); do
		for i in 0 1; do
			scale_dev "$i" "$l" scsi_generic >/dev/null && scale_dev "$i" "$l" block >/dev/null || return 1
		done
	done
}
scale_front() { # LUN → the sd disk of tcm_loop LUN l
	local h d
	for h in /sys/class/scsi_host/host*; do
		[[ $(<"$h/proc_name") == tcm_loopback ]] || continue
		for d in "$h"/device/target*/*:"$1"/block/sd*; do [[ -b /dev/${d##*/} ]] && { echo "${d##*/}"; return 0; }; done
	done
	return 1
}
_scale_fronts_ready() { local l; for ((l = 0; l < $1; l++)); do scale_front "$l" >/dev/null || return 1; done; }
cpu_ticks() { [[ -n ${1:-} ]] && awk '{ print $14 + $15 }' "/proc/$1/stat" || echo 0; }
# scale_run NAME N QD [PID] [hog]: fio over the first N front disks; NAME.json, NAME.cpu
scale_run() {
	local name=$1 n=$2 qd=$3 pid=${4:-} hog=${5:-} jobs=() l d c0 c1 io0=0 io1=0 hog_pid=""
	for ((l = 0; l < n; l++)); do
		d=$(scale_front "$l")
		jobs+=(--name="lun$l" --filename="/dev/$d")
		io0=$((io0 + $(disk_ios "$d")))
	done
	[[ -z $hog ]] || { (while :; do :; done) & hog_pid=$!; }
	c0=$(cpu_ticks "$pid")
	vm_log "scale: $name ($n LUNs, QD$qd each${hog:+, beside a CPU hog})"
	fio --direct=1 --ioengine=libaio --rw=randread --bs=4k --iodepth="$qd" \
		--size="$((SIZE_MB - 16))M" --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
		--randrepeat=0 --norandommap --eta=never --group_reporting --output-format=json \
		--output="$RES/scale-$name.json" "${jobs[@]}" >/dev/null || vm_fail "fio scale $name"
	c1=$(cpu_ticks "$pid")
	[[ -z $hog_pid ]] || { kill "$hog_pid"; wait "$hog_pid" 2>/dev/null || true; }
	for ((l = 0; l < n; l++)); do io1=$((io1 + $(disk_ios "$(scale_front "$l")"))); done
	echo "$((c1 - c0)) $((io1 - io0)) $(getconf CLK_TCK)" >"$RES/scale-$name.cpu"
}
disk_ios() { awk '{ print $1 + $5 }' "/sys/block/$1/stat"; }
if ((SCALE)); then
	SCALE_MAX=0
	for n in "${SCALE_N[@]}"; do ((n > SCALE_MAX)) && SCALE_MAX=$n; done
	echo 0 >"$SDEBUG/ndelay" 2>/dev/null || true
	rmmod scsi_debug || vm_fail "rmmod scsi_debug"
	modprobe scsi_debug add_host=2 max_luns="$SCALE_MAX" dev_size_mb="$SIZE_MB" vpd_use_hostno=0 ||
		vm_fail "modprobe scsi_debug max_luns=$SCALE_MAX"
	PATH_HOST=()
	for h in /sys/class/scsi_host/host*; do
		[[ $(<"$h/proc_name") == scsi_debug ]] && PATH_HOST+=("${h##*/host}")
	done
	mapfile -t PATH_HOST < <(printf '%s\n' "${PATH_HOST[@]}" | sort -n)
	vm_wait 60 _scale_devs_ready || vm_fail "scale: scsi_debug's $SCALE_MAX LUNs x 2 paths did not appear"
	: >/tmp/scale.conf
	for ((l = 0; l < SCALE_MAX; l++)); do
		printf '[s%s]\npaths = /dev/%s;/dev/%s\ngrouping = multibus\nselector = queue-length\n' "$l" \
			"$(scale_dev 0 "$l" scsi_generic)" "$(scale_dev 1 "$l" scsi_generic)" >>/tmp/scale.conf
	done
	echo "{\"luns\": \"${SCALE_N[*]}\", \"qd\": \"${SCALE_QD[*]} 32\", \"paths_per_lun\": 2}" >"$RES/scale-setup.json"
	# export N LUNs of backstore kind KIND (user:rdp or block) behind tcm_loop LUNs 0..N-1
	scale_export() {
		local kind=$1 n=$2 l cmds=""
		for ((l = 0; l < n; l++)); do
			if [[ $kind == rdp ]]; then
				cmds+="/backstores/user:rdp create name=s$l size=$((SIZE_MB - 16))M cfgstring=s$l"$'\n'
			else
				cmds+="/backstores/block create name=s$l dev=/dev/mapper/mps$l"$'\n'
			fi
		done
		cmds+="/loopback create $RDP_LOOP_WWN"$'\n'
		for ((l = 0; l < n; l++)); do
			cmds+="/loopback/$RDP_LOOP_WWN/luns create /backstores/$([[ $kind == rdp ]] && echo user:rdp || echo block)/s$l"$'\n'
		done
		vm_targetcli >/dev/null <<<"$cmds"
		vm_wait 60 _scale_fronts_ready "$n" || vm_fail "scale: $n front disks did not appear"
	}
	scale_unexport() {
		local kind=$1 n=$2 l cmds="/loopback delete $RDP_LOOP_WWN"$'\n'
		for ((l = 0; l < n; l++)); do
			cmds+="/backstores/$([[ $kind == rdp ]] && echo user:rdp || echo block) delete s$l"$'\n'
		done
		vm_targetcli >/dev/null <<<"$cmds"
		teardown_loop
	}
	scale_stack() { # KIND PID
		local kind=$1 pid=${2:-} n qd
		for n in "${SCALE_N[@]}"; do
			scale_export "$kind" "$n"
			scale_run "$kind-luns$n" "$n" 32 "$pid"
			if ((n == 1)); then
				for qd in "${SCALE_QD[@]}"; do scale_run "$kind-qd$qd" 1 "$qd" "$pid"; done
				scale_run "$kind-hog" 1 32 "$pid" hog
			fi
			scale_unexport "$kind" "$n"
		done
	}
	: >"$RDP_LOG.scale"
	RDP_LOG=$RDP_LOG.scale rdp_start --config /tmp/scale.conf
	scale_stack rdp "$RDP_PID"
	rdp_stop
	for ((l = 0; l < SCALE_MAX; l++)); do
		a=$(scale_dev 0 "$l" block) b=$(scale_dev 1 "$l" block)
		dmsetup create "mps$l" --table "0 $(blockdev --getsz "/dev/$a") multipath 0 0 1 1 queue-length 0 2 1 $(majmin "$a") 1 $(majmin "$b") 1" ||
			vm_fail "dmsetup create mps$l"
	done
	dmsetup mknodes
	scale_stack dm ""
	for ((l = 0; l < SCALE_MAX; l++)); do dmsetup remove "mps$l" || vm_fail "dmsetup remove mps$l"; done
fi

# --- results --------------------------------------------------------------------------------------
python3 - "$RES" "$VMOUT/bench.json" "$FO_FAULT_AT" "$RUNTIME" "$RAMP" "$FO_RUNTIME" \
	"$HANG_TIMEOUT" "$HANG_EVERY" "$HANG_WINDOW" <<'PY'
import json, os, sys, glob
res, out, fault_at, runtime, ramp, fo_runtime, hang_timeout, hang_every, hang_window = sys.argv[1:10]
cases = ["randread-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd32", "seqread-128k-qd8"]
backends = ["rdp", "dm", "one"]

def fig(be, case):
    j = json.load(open(f"{res}/{be}-{case}.json"))["jobs"][0]
    d = j["write"] if "write" in case else j["read"]
    c = d["clat_ns"]
    return {"iops": round(d["iops"], 1), "bw_mib_s": round(d["bw"] / 1024, 2),
            "lat_mean_us": round(d["lat_ns"]["mean"] / 1000, 1),
            "clat_p99_us": round(c["percentile"]["99.000000"] / 1000, 1),
            "ios": d["total_ios"], "errors": j["error"]}

def ratio(a, b):
    return round(a / b, 3) if b else None

r = {"note": "TCG (no KVM): the VM is CPU-bound and absolute figures mean nothing; only the "
             "ratios between cases of one run do.",
     "setup": {"paths": 2, "scsi_debug": "add_host=4 dev_size_mb=256 vpd_use_hostno=0 (paths 0 and 1 used)",
               "rdp": "user:rdp, grouping=multibus, selector=queue-length, cmd_timeout=%ss" % hang_timeout,
               "sg_allow_dio": json.load(open(f"{res}/rdp-sg.json"))["sg_allow_dio"],
               "dm": open(f"{res}/dm-table.txt").read().strip() if os.path.exists(f"{res}/dm-table.txt") else None,
               "one": "LIO block backstore on one sd path",
               "fio": f"libaio direct=1 time_based runtime={runtime}s ramp_time={ramp}s",
               "front": {be: json.load(open(f"{res}/{be}-front.json")) for be in backends
                         if os.path.exists(f"{res}/{be}-front.json")}},
     "cases": {}}
for case in cases:
    if not os.path.exists(f"{res}/rdp-{case}.json"):
        continue  # BENCH_MAIN=0
    e = {be: fig(be, case) for be in backends}
    e["rdp_dm_iops"] = ratio(e["rdp"]["iops"], e["dm"]["iops"])
    e["rdp_one_iops"] = ratio(e["rdp"]["iops"], e["one"]["iops"])
    e["rdp_dm_p99"] = ratio(e["rdp"]["clat_p99_us"], e["dm"]["clat_p99_us"])
    e["rdp_one_p99"] = ratio(e["rdp"]["clat_p99_us"], e["one"]["clat_p99_us"])
    r["cases"][case] = e

def stall(be, kind, after_s):
    logs = sorted(glob.glob(f"{res}/{be}-{kind}_clat*.log"))
    if not logs:
        return None
    t, lat, worst, worst_at = [], [], 0, 0
    for line in open(logs[0]):
        f = [x.strip() for x in line.split(",")]
        ms, ns = int(f[0]), int(f[1])
        t.append(ms)
        lat.append((ms, ns))
        if ns > worst:
            worst, worst_at = ns, ms
    t.sort()
    gap, gap_at = 0, 0
    for a, b in zip(t, t[1:]):
        if b - a > gap:
            gap, gap_at = b - a, a
    # the same in a window around the fault (0.5 s before to after_s after it): TCG scheduling
    # alone gives stalls of tens of ms anywhere in the run
    lo, hi = int(fault_at) * 1000 - 500, int(fault_at) * 1000 + int(after_s * 1000)
    win = sorted(ms for ms in t if lo <= ms < hi)
    win_gap = max((b - a for a, b in zip(win, win[1:])), default=None)
    win_worst = max((ns for ms, ns in lat if lo <= ms < hi), default=0)
    j = json.load(open(f"{res}/{be}-{kind}.json"))["jobs"][0]
    rc = int(open(f"{res}/{be}-{kind}.rc").read())
    before = sum(1 for x in t if x < int(fault_at) * 1000) / int(fault_at)
    after_s = int(fo_runtime) - int(fault_at) - 1
    after = sum(1 for x in t if x >= (int(fault_at) + 1) * 1000) / after_s if after_s > 0 else None
    return {"fio_exit": rc, "fio_errors": j["error"], "ios": j["write"]["total_ios"],
            "commands_timed_out": int(open(f"{res}/{be}-{kind}.timeouts").read()),
            "worst_clat_ms": round(worst / 1e6, 1), "worst_clat_done_at_ms": worst_at,
            "longest_gap_ms": gap, "gap_starts_at_ms": gap_at,
            "fault_window_ms": [lo, hi], "fault_window_worst_clat_ms": round(win_worst / 1e6, 1),
            "fault_window_longest_gap_ms": win_gap,
            "iops_before_fault": round(before), "iops_after_fault": round(after) if after else None}

fo = {be: stall(be, "offline", 2) for be in ("rdp", "dm")}
if fo["rdp"] and fo["dm"]:
    r["failover_offline"] = {"fault": f"path 0 offline at {fault_at}s of a {fo_runtime}s 4k randwrite QD8",
                             "rdp": fo["rdp"], "dm": fo["dm"]}
fh = {be: stall(be, "hang", int(hang_timeout) + 3) for be in ("rdp", "dm")}
if fh["rdp"] and fh["dm"]:
    r["failover_hang"] = {
        "fault": f"at {fault_at}s of a {fo_runtime}s 4k randwrite QD8, for {hang_window}s every "
                 f"{hang_every}th command of the scsi_debug module is never answered (module-wide, "
                 f"both paths: opts=4 every_nth={hang_every}); path timeout {hang_timeout}s "
                 f"(rdp cmd_timeout, dm: sd device timeout)",
        "path_timeout_s": int(hang_timeout), "rdp": fh["rdp"], "dm": fh["dm"]}

agg = {}
for be in ("rdp", "dm"):
    row = {}
    for n in (1, 2, 4):
        f = f"{res}/{be}-agg{n}.json"
        if os.path.exists(f):
            row[str(n)] = round(json.load(open(f))["jobs"][0]["read"]["iops"], 1)
    if row:
        agg[be] = {"iops": row, "ratio_to_one": {n: ratio(v, row["1"]) for n, v in row.items()}}
if agg:
    agg["setup"] = json.load(open(f"{res}/agg-setup.json"))
    agg["setup"]["fio"] = "4k randread QD32"
    r["aggregation"] = agg
scale = {}
if os.path.exists(f"{res}/scale-setup.json"):
    scale["setup"] = json.load(open(f"{res}/scale-setup.json"))
    for f in sorted(glob.glob(f"{res}/scale-*.cpu")):
        name = os.path.basename(f)[len("scale-"):-len(".cpu")]
        ticks, ios, hz = (int(x) for x in open(f).read().split())
        j = json.load(open(f"{res}/scale-{name}.json"))["jobs"][0]["read"]
        scale[name] = {"iops": round(j["iops"], 1), "clat_p99_us": round(j["clat_ns"]["percentile"]["99.000000"] / 1000, 1),
                       "daemon_cpu_ms_per_io": round(ticks * 1000 / hz / ios, 4) if ios and name.startswith("rdp") else None}
    r["scale"] = scale
json.dump(r, open(out, "w"), indent=1)
PY
vm_log "results in $VMOUT/bench.json"
echo "RESULT bench: done"
