#!/bin/bash
# VM benchmark, guest side (run by tests/bench/run through tests/vm/vm-run; docs/performance.md,
# "VM benchmark"). Two scsi_debug paths to one LUN; the same tcm_loop front end exports, one after
# the other (each export torn down before the next):
#   rdp  user:rdp (tcmu-rdpd), paths = both sg devices, grouping = multibus, selector = queue-length
#   dm   LIO block backstore on a dm-multipath device over both sd devices (queue-length, one group)
#   one  LIO block backstore on one sd device
# fio (libaio, direct) on the tcm_loop disk: 4k randread QD1 and QD32, 4k randwrite QD32, 128k
# sequential read QD8; then, for rdp and dm, the failover stall: 4k randwrite QD8 with path 0 set
# offline after FO_FAULT_AT s. Results: $VMOUT/bench.json (+ the raw fio JSON and latency logs).
# Environment (for quick checks): BENCH_RUNTIME (10), BENCH_RAMP (2), FO_RUNTIME (20),
# FO_FAULT_AT (8), BENCH_FAILOVER (1; 0 skips the failover stall), given as VAR=VALUE arguments.
set -euo pipefail
for a in "$@"; do # VAR=VALUE arguments from tests/bench/run
	case $a in
	BENCH_RUNTIME=* | BENCH_RAMP=* | FO_RUNTIME=* | FO_FAULT_AT=* | BENCH_FAILOVER=*) export "${a?}" ;;
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
RES=$VMOUT/bench
mkdir -p "$RES"

# name rw bs iodepth
CASES=(
	"randread-4k-qd1 randread 4k 1"
	"randread-4k-qd32 randread 4k 32"
	"randwrite-4k-qd32 randwrite 4k 32"
	"seqread-128k-qd8 read 128k 8"
)

vm_scsi_debug_paths 2
SIZE_MB=256

cat >/tmp/bench.conf <<EOT
[bench]
paths = ${PATH_SG[0]};${PATH_SG[1]}
grouping = multibus
selector = queue-length
EOT
rdp_start --config /tmp/bench.conf

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

# failover BACKEND DISK: 4k randwrite QD8, path 0 offline at FO_FAULT_AT s (stays offline until
# fio ends), per-I/O completion log for the worst latency and the longest completion gap.
failover() {
	local be=$1 disk=$2 rc=0 faults
	vm_log "$be: failover stall, path 0 (${PATH_SD[0]}) offline at ${FO_FAULT_AT}s"
	(
		sleep "$FO_FAULT_AT"
		vm_log "$be: path 0 offline"
		vm_path_offline 0
	) &
	faults=$!
	fio --name="$be-failover" --filename="/dev/$disk" --direct=1 --ioengine=libaio --rw=randwrite \
		--bs=4k --iodepth=8 --size="$((SIZE_MB - 16))M" --time_based --runtime="$FO_RUNTIME" \
		--randrepeat=0 --norandommap --eta=never --disable_slat=1 \
		--write_lat_log="$RES/$be-failover" --log_avg_msec=0 \
		--output-format=json --output="$RES/$be-failover.json" >/dev/null || rc=$?
	wait "$faults"
	echo "$rc" >"$RES/$be-failover.rc"
	vm_log "$be: failover fio exit $rc"
	vm_path_online 0
}

teardown_loop() {
	vm_wait 30 test -z "$(_rdp_find_loop_disk)" || vm_fail "tcm_loop disk did not go away"
}

# --- (a) tcmu-rdp ---------------------------------------------------------------------------------
rdp_export bench bench "${SIZE_MB}M"
disk=$(rdp_loop_disk)
perf rdp "$disk"
((FAILOVER)) && failover rdp "$disk"
rdp_summary >"$RES/rdp-summary.txt" || true
vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/user:rdp delete bench
EOT
teardown_loop
rdp_stop

# --- (b) dm-multipath -------------------------------------------------------------------------------
sectors=$(blockdev --getsz "/dev/${PATH_SD[0]}")
majmin() { cat "/sys/block/$1/dev"; }
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
	failover dm "$disk"
	dmsetup status mpbench >"$RES/dm-status-after-fault.txt"
	dmsetup message mpbench 0 "reinstate_path $(majmin "${PATH_SD[0]}")" || true
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

# --- results --------------------------------------------------------------------------------------
python3 - "$RES" "$VMOUT/bench.json" "$FO_FAULT_AT" "$RUNTIME" "$RAMP" "$FO_RUNTIME" <<'PY'
import json, os, sys, glob
res, out, fault_at, runtime, ramp, fo_runtime = sys.argv[1:7]
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
     "setup": {"paths": 2, "scsi_debug": "add_host=2 dev_size_mb=256 vpd_use_hostno=0",
               "rdp": "user:rdp, grouping=multibus, selector=queue-length",
               "dm": open(f"{res}/dm-table.txt").read().strip(),
               "one": "LIO block backstore on one sd path",
               "fio": f"libaio direct=1 time_based runtime={runtime}s ramp_time={ramp}s",
               "front": {be: json.load(open(f"{res}/{be}-front.json")) for be in backends}},
     "cases": {}}
for case in cases:
    e = {be: fig(be, case) for be in backends}
    e["rdp_dm_iops"] = ratio(e["rdp"]["iops"], e["dm"]["iops"])
    e["rdp_one_iops"] = ratio(e["rdp"]["iops"], e["one"]["iops"])
    e["rdp_dm_p99"] = ratio(e["rdp"]["clat_p99_us"], e["dm"]["clat_p99_us"])
    e["rdp_one_p99"] = ratio(e["rdp"]["clat_p99_us"], e["one"]["clat_p99_us"])
    r["cases"][case] = e

def stall(be):
    logs = sorted(glob.glob(f"{res}/{be}-failover_clat*.log"))
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
    # the same in a window around the fault (0.5 s before to 2 s after the offline write): TCG
    # scheduling alone gives stalls of tens of ms anywhere in the run
    lo, hi = int(fault_at) * 1000 - 500, int(fault_at) * 1000 + 2000
    win = sorted(ms for ms in t if lo <= ms < hi)
    win_gap = max((b - a for a, b in zip(win, win[1:])), default=None)
    win_worst = max((ns for ms, ns in lat if lo <= ms < hi), default=0)
    j = json.load(open(f"{res}/{be}-failover.json"))["jobs"][0]
    rc = int(open(f"{res}/{be}-failover.rc").read())
    before = sum(1 for x in t if x < int(fault_at) * 1000) / int(fault_at)
    after_s = int(fo_runtime) - int(fault_at) - 1
    after = sum(1 for x in t if x >= (int(fault_at) + 1) * 1000) / after_s if after_s > 0 else None
    return {"fio_exit": rc, "fio_errors": j["error"], "ios": j["write"]["total_ios"],
            "worst_clat_ms": round(worst / 1e6, 1), "worst_clat_done_at_ms": worst_at,
            "longest_gap_ms": gap, "gap_starts_at_ms": gap_at,
            "fault_window_ms": [lo, hi], "fault_window_worst_clat_ms": round(win_worst / 1e6, 1),
            "fault_window_longest_gap_ms": win_gap,
            "iops_before_fault": round(before), "iops_after_fault": round(after) if after else None}

fo = {be: stall(be) for be in ("rdp", "dm")}
if fo["rdp"] and fo["dm"]:
    r["failover_offline"] = {"fault": f"path 0 offline at {fault_at}s of a {fo_runtime}s 4k randwrite QD8",
                             "rdp": fo["rdp"], "dm": fo["dm"]}
json.dump(r, open(out, "w"), indent=1)
PY
vm_log "results in $VMOUT/bench.json"
echo "RESULT bench: done"
