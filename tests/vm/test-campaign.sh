#!/bin/bash
# Fault campaign: random writes of mixed sizes with crc32c verify run through the gateway for at
# least --seconds (default 180) and until --min-faults (100) faults were injected, while faults chosen at random (seeded, reproducible) hit the paths:
# offline/online, device delete + rescan, scsi_debug host remove + re-add, medium errors (must
# reach the initiator as such), transport errors and dropped commands (must not), a slow path,
# and all-paths-down windows shorter than the no_path_retry bound. One summary line; fails
# unless initiator-visible errors and verify mismatches are 0, every medium error injected was
# seen, and at least --min-faults faults were injected.
#   tests/vm/vm-run --timeout 4000 tests/vm/test-campaign.sh --seconds 1800 --seed 7
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

SECONDS_WANTED=180
SEED=20261124
MIN_FAULTS=100
while (($#)); do
	case $1 in
	--seconds) SECONDS_WANTED=$2 ;;
	--seed) SEED=$2 ;;
	--min-faults) MIN_FAULTS=$2 ;;
	*) vm_fail "usage: test-campaign.sh [--seconds N] [--seed N] [--min-faults N]" ;;
	esac
	shift 2
done
[[ $SECONDS_WANTED =~ ^[0-9]+$ && $SEED =~ ^[0-9]+$ && $MIN_FAULTS =~ ^[0-9]+$ ]] ||
	vm_fail "--seconds, --seed and --min-faults take whole numbers"

CMD_TIMEOUT=3     # s, per command per path: a dropped command comes back after this
NO_PATH_BOUND=10  # s, no_path_retry x checker_interval
ALLDOWN_MAX=4     # s, all-paths-down windows stay well under the bound
MEDIUM_LBA=4096   # scsi_debug returns MEDIUM ERROR for reads of 8 blocks from here...
FIO_OFFSET=8M     # ...which the verify load never touches
SD=/sys/bus/pseudo/drivers/scsi_debug

# Three hosts: 0 (ALUA active/optimized) and 1 (active/non-optimized) stay for the whole run;
# the third is the one removed and re-added (scsi_debug removes the newest host).
vm_scsi_debug_paths 3 medium_error_start=$MEDIUM_LBA medium_error_count=8
cat >/tmp/rdp.conf <<EOT
[defaults]
grouping = multibus
checker_interval = 1
max_checker_interval = 1
cmd_timeout = $CMD_TIMEOUT
no_path_retry = $NO_PATH_BOUND
EOT
rdp_start --config /tmp/rdp.conf
rdp_export lun0 "wwid=$WWID"
disk=$(rdp_loop_disk)
front_sg=/dev/$(basename "$(ls -d /sys/block/"$disk"/device/scsi_generic/sg*)")

# the daemon's errors_returned counter before the load (sd's probe may have drawn some)
errors_returned() { rdp_summary | sed -n 's/.*summary lun=lun0 .*errors_returned=\([0-9]*\).*/\1/p'; }
errors_before=$(errors_returned)

FAULT_LOG=$VMOUT/campaign-faults.log
: >"$FAULT_LOG"
now_ms() { # wall clock, as fio's own timestamps
	local us=${EPOCHREALTIME/./}
	echo $((us / 1000))
}

# --- the faults ---------------------------------------------------------------------------------
# Each runs in the injector's own shell (never in $(...): they update PATH_* and counters), sets
# DETAIL, and leaves the paths healed when it returns.
hold() { # a random hold between $1 and $2 tenths of a second
	local t=$(($1 + RANDOM % ($2 - $1 + 1)))
	sleep "$((t / 10)).$((t % 10))"
}
resolve_third() { # the newest scsi_debug host is path 2
	local h newest=0
	for h in /sys/class/scsi_host/host*; do
		[[ $(<"$h/proc_name") == scsi_debug ]] || continue
		((${h##*/host} > newest)) && newest=${h##*/host}
	done
	PATH_HOST[2]=$newest
	vm_wait 30 _vm_resolve_path 2 || vm_fail "path 2 (host$newest) did not appear"
}
f_offline() {
	local i=$((RANDOM % 3))
	vm_path_offline "$i"
	hold 2 10
	vm_path_online "$i"
	DETAIL="path$i"
}
f_delete() {
	local i=$((RANDOM % 3))
	vm_path_delete "$i"
	hold 2 8
	vm_rescan_host "$i"
	DETAIL="path$i"
}
f_host() {
	echo -1 >"$SD/add_host"
	vm_wait 30 test ! -e "/sys/class/scsi_host/host${PATH_HOST[2]}" || vm_fail "host${PATH_HOST[2]} not removed"
	hold 2 8
	echo 1 >"$SD/add_host"
	resolve_third
	DETAIL="host${PATH_HOST[2]}"
}
MEDIUM_INJECTED=0
MEDIUM_SEEN=0
f_medium() {
	local out rc=0
	echo 2 >"$SD/opts"
	MEDIUM_INJECTED=$((MEDIUM_INJECTED + 1))
	local lba
	read -ra lba <<<"$(printf '%02x %02x %02x %02x' $((MEDIUM_LBA >> 24 & 255)) \
		$((MEDIUM_LBA >> 16 & 255)) $((MEDIUM_LBA >> 8 & 255)) $((MEDIUM_LBA & 255)))"
	out=$(sg_raw -r 512 "$front_sg" 28 00 "${lba[@]}" 00 00 01 00 2>&1) || rc=$?
	echo 0 >"$SD/opts"
	if ((rc == 3)) && [[ $out == *"Medium Error"* ]]; then
		MEDIUM_SEEN=$((MEDIUM_SEEN + 1))
		DETAIL="seen"
	else
		DETAIL="NOT-SEEN(rc=$rc)"
		vm_log "medium error not seen by the initiator (sg_raw rc=$rc): $out"
	fi
}
f_transport() { # ABORTED COMMAND 4b/03 on every 8th command, any path
	echo 8 >"$SD/every_nth"
	echo 16 >"$SD/opts"
	hold 5 10
	echo 0 >"$SD/opts"
	echo 0 >"$SD/every_nth"
	DETAIL="every8th"
}
f_timeout() { # every 40th command dropped: it times out after cmd_timeout (then the host's EH)
	echo 40 >"$SD/every_nth"
	echo 4 >"$SD/opts"
	hold 5 10
	echo 0 >"$SD/opts"
	echo 0 >"$SD/every_nth"
	DETAIL="every40th"
}
f_slow() { # one path down to one command at a time
	local i=$((RANDOM % 3)) f qd
	f=$(_vm_sysfs "$i")/queue_depth
	qd=$(<"$f")
	echo 1 >"$f"
	hold 5 12
	[[ -e $f ]] && echo "$qd" >"$f"
	DETAIL="path$i"
}
f_alldown() {
	local i
	for i in 0 1 2; do vm_path_offline "$i"; done
	hold 10 $((ALLDOWN_MAX * 10 - 15))
	for i in 0 1 2; do vm_path_online "$i"; done
	DETAIL="3paths"
}
# weights: 32 offline, 8 delete, 6 host, 12 medium, 12 transport, 10 timeout, 12 slow, 8 all-down
pick() {
	local r=$((RANDOM % 100))
	if ((r < 32)); then echo offline
	elif ((r < 40)); then echo delete
	elif ((r < 46)); then echo host
	elif ((r < 58)); then echo medium
	elif ((r < 70)); then echo transport
	elif ((r < 80)); then echo timeout
	elif ((r < 92)); then echo slow
	else echo alldown; fi
}

inject() { # in the background until $STOP_FILE appears; writes the counters at the end
	local t0=$1 n=0 kind start
	RANDOM=$SEED
	sleep 3
	while [[ ! -e $STOP_FILE ]]; do
		kind=$(pick)
		start=$(($(now_ms) - t0))
		DETAIL=
		"f_$kind"
		echo "$start $(($(now_ms) - t0)) $kind $DETAIL" >>"$FAULT_LOG"
		n=$((n + 1))
		hold 1 3
	done
	echo "$n $MEDIUM_INJECTED $MEDIUM_SEEN" >"$VMOUT/campaign-counts"
}

_campaign_paths_back() {
	local list i
	list=$("$RDPCTL" show paths --json | python3 -c '
import json, sys
print(" ".join(p["dev"] + ":" + p["state"] for p in json.load(sys.stdin)["luns"][0]["paths"]))')
	for i in 0 1; do
		[[ " $list " == *" ${PATH_SG[i]}:active "* ]] || return 1
	done
}

# --- the run ------------------------------------------------------------------------------------
vm_log "campaign: seed $SEED, at least ${SECONDS_WANTED} s and $MIN_FAULTS faults"
STOP_FILE=/tmp/campaign-stop
t0=$(now_ms)
echo "$t0" >"$VMOUT/campaign-t0"
inject "$t0" 2>>"$VMOUT/campaign-injector.log" &
injector=$!
# The load runs in segments of at most 60 s, each a fresh fio that verifies what it wrote,
# until both the time and the fault count are reached (a loaded machine injects fewer faults
# per minute).
rc=0
seg=0
: >"$VMOUT/campaign-segments"
while :; do
	elapsed=$((($(now_ms) - t0) / 1000))
	faults_so_far=$(grep -c . "$FAULT_LOG" || true)
	((elapsed < SECONDS_WANTED || faults_so_far < MIN_FAULTS)) || break
	((elapsed < SECONDS_WANTED * 3)) || break # the fault count decides below
	run=$((SECONDS_WANTED - elapsed))
	((run >= 20)) || run=20
	((run <= 60)) || run=60
	seg=$((seg + 1))
	echo "$seg" >>"$VMOUT/campaign-segments"
	rdp_fio "campaign-$seg" "$disk" --offset="$FIO_OFFSET" --size=96M --time_based \
		--runtime="$run" --verify_backlog=64 --continue_on_error=io --eta=never \
		--write_lat_log="$VMOUT/campaign-$seg" --log_avg_msec=0 \
		2>"$VMOUT/campaign-$seg-fio.err" || rc=$?
	((rc == 0)) || break
done
touch "$STOP_FILE"
wait "$injector" || vm_fail "the fault injector failed: $(tail -5 "$VMOUT/campaign-injector.log")"
read -r faults medium_injected medium_seen <"$VMOUT/campaign-counts"
campaign_s=$((($(now_ms) - t0) / 1000))

# --- the figures --------------------------------------------------------------------------------
# fio: I/O errors it saw (continue_on_error=io counts them), verify mismatches (fatal, so at most
# the first), worst completion latency and the longest time with no completion at all; per fault
# type, the worst latency of the I/Os issued while such a fault was on.
figures=$(python3 - "$VMOUT" "$FAULT_LOG" <<'PY'
import collections, json, sys
out, fault_log = sys.argv[1], sys.argv[2]
errors = mismatches = ios = wmb = rmb = 0
done = []      # (completion ms on the campaign clock, latency ms)
gap = 0
t0 = int(open(f"{out}/campaign-t0").read())
for line in open(f"{out}/campaign-segments"):
    seg = line.split()[0]
    top = json.load(open(f"{out}/campaign-{seg}.json"))
    j = top["jobs"][0]
    # fio's latency log counts from the job's start: its end (wall clock) minus its runtime
    start = top["timestamp_ms"] - j["job_runtime"] - t0
    e = j.get("total_err", 0)
    text = open(f"{out}/campaign-{seg}-fio.err", errors="replace").read()
    m = text.count("verify failed") + text.count("bad magic") + text.count("bad header")
    if j["error"] == 84 and m == 0:   # EILSEQ: fio stopped on a verify failure
        m = 1
    elif j["error"] not in (0, 84) and e == 0:
        e = 1
    errors += e
    mismatches += m
    ios += j["write"]["total_ios"] + j["read"]["total_ios"]
    wmb += j["write"]["io_bytes"] / 1048576
    rmb += j["read"]["io_bytes"] / 1048576
    seg_done = sorted((int(f.split(",")[0]) + start, int(f.split(",")[1]) / 1e6)
                      for f in open(f"{out}/campaign-{seg}_clat.1.log"))
    gap = max([gap] + [b[0] - a[0] for a, b in zip(seg_done, seg_done[1:])])
    done += seg_done
worst = max(l for _, l in done)
per = collections.defaultdict(lambda: [0, 0.0])
issued = sorted((t - l, l) for t, l in done)   # (issue ms, latency ms)
for line in open(fault_log):
    start, end, kind = line.split()[:3]
    start, end = int(start), int(end)
    w = max((l for t, l in issued if start <= t <= end), default=0.0)
    per[kind][0] += 1
    per[kind][1] = max(per[kind][1], w)
table = ",".join(f"{k}:{n}/{w:.0f}ms" for k, (n, w) in sorted(per.items()))
print(f"ios={ios} errors={errors} mismatches={mismatches} worst_stall_ms={worst:.0f} "
      f"longest_gap_ms={gap} write_mb={wmb:.0f} verify_mb={rmb:.0f} per_fault={table}")
PY
)
vm_log "fio exit $rc: $figures"

kill -0 "$RDP_PID" 2>/dev/null || vm_fail "tcmu-rdpd died during the campaign"
summary=$(rdp_summary)
echo "$summary"
errors_after=$(sed -n 's/.*summary lun=lun0 .*errors_returned=\([0-9]*\).*/\1/p' <<<"$summary")
failovers=$(sed -n 's/.*summary lun=lun0 .* failovers=\([0-9]*\).*/\1/p' <<<"$summary")
# every error the daemon returned must be one of the medium errors asked for
daemon_errors=$((errors_after - errors_before - medium_seen))
kernel_errors=$(dmesg | grep -c "I/O error, dev $disk," || true)

line="faults=$faults seed=$SEED seconds=$campaign_s segments=$seg $figures medium_injected=$medium_injected"
line+=" medium_seen=$medium_seen daemon_errors=$daemon_errors kernel_io_errors=$kernel_errors failovers=$failovers"
echo "RESULT campaign: $line"

grep -c . "$FAULT_LOG" >/dev/null || vm_fail "no fault log"
[[ $figures == *" errors=0 "* ]] || vm_fail "initiator-visible I/O errors: $figures"
[[ $figures == *" mismatches=0 "* ]] || vm_fail "verify mismatches: $figures"
((rc == 0)) || vm_fail "fio exit $rc"
((daemon_errors == 0)) || vm_fail "the daemon returned $daemon_errors errors besides the medium errors asked for"
((kernel_errors == 0)) || vm_fail "the initiator's kernel logged $kernel_errors I/O errors on $disk"
((medium_injected > 0 && medium_seen == medium_injected)) ||
	vm_fail "medium errors: $medium_injected injected, $medium_seen seen by the initiator"
((faults >= MIN_FAULTS)) || vm_fail "only $faults faults injected (want $MIN_FAULTS)"
((failovers > 0)) || vm_fail "no failover counted"
# the two permanent paths are in use again
vm_wait 15 _campaign_paths_back || vm_fail "paths not all back: $("$RDPCTL" show paths 2>&1)"
