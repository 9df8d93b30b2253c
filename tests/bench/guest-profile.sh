#!/bin/bash
# What the daemon does per I/O (guest side of tests/bench/profile): the same two scsi_debug paths
# and tcm_loop front end as guest-bench.sh; one or more tcmu-rdpd binaries one after the other
# (to compare two builds in one VM run), then dm-multipath. For each fio case: IOPS, and from the
# middle of the run the daemon's system calls by kind (tracepoints) and its CPU time, per I/O.
# (perf record -a is no use here: under TCG its samples land almost all in the idle loop.)
# Results in $VMOUT/profile/ and on the console (lines "PROFILE ...").
set -euo pipefail
for a in "$@"; do
	case $a in
	PROF_RUNTIME=* | PROF_CASES=* | PROF_DAEMONS=* | PROF_STRACE=* | PROF_TRACE=*) export "${a?}" ;;
	*) echo "guest-profile: unknown argument $a" >&2; exit 2 ;;
	esac
done
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

RUNTIME=${PROF_RUNTIME:-12}
# fio cases rw-bs-qd, space-separated
CASES=${PROF_CASES:-randread-4k-32 read-128k-8}
# daemon variants NAME=BINARY[:dio][:blk=N], space-separated; ":dio" runs it with sg
# allow_dio=1, ":blk=N" creates the backstore with TCMU data area blocks of N pages
DAEMONS=${PROF_DAEMONS:-rdp=$RDPD rdp-dio=$RDPD:dio}
RES=$VMOUT/profile
mkdir -p "$RES"
mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo "PROFILE clocksource $(</sys/devices/system/clocksource/clocksource0/current_clocksource)" \
	"(available: $(</sys/devices/system/clocksource/clocksource0/available_clocksource))"

vm_scsi_debug_paths 2
SIZE_MB=256
cat >/tmp/prof.conf <<EOT
[prof]
paths = ${PATH_SG[0]};${PATH_SG[1]}
grouping = multibus
selector = queue-length
EOT

SYSCALLS=(read write poll ioctl clock_gettime)
# disk_ios DISK: reads + writes the disk has completed (/sys/block/DISK/stat fields 1 and 5)
disk_ios() { awk '{ print $1 + $5 }' "/sys/block/$1/stat"; }
# profile NAME DISK CASE [PID]: fio in the background; in its middle, for 3 s, the daemon's
# system calls by kind and its CPU time (task-clock), per I/O the disk completed in those 3 s;
# with PROF_TRACE=1 then, for 2 s, the time spent inside each system call (perf trace -s)
profile() {
	local name=$1 disk=$2 case=$3 pid=${4:-} ev=() s rw bs qd fio_pid iops n0 n1 n
	IFS=- read -r rw bs qd <<<"$case"
	fio --name="$name" --filename="/dev/$disk" --direct=1 --ioengine=libaio --rw="$rw" --bs="$bs" \
		--iodepth="$qd" --size="$((SIZE_MB - 16))M" --time_based --runtime="$RUNTIME" \
		--randrepeat=0 --norandommap --eta=never --output-format=json \
		--output="$RES/$name-$case-fio.json" >/dev/null &
	fio_pid=$!
	sleep 3
	for s in "${SYSCALLS[@]}"; do ev+=(-e "syscalls:sys_enter_$s"); done
	n0=$(disk_ios "$disk")
	if [[ -n $pid && -n ${PROF_STRACE:-} ]]; then
		timeout -s INT 3 strace -f -c -p "$pid" -o "$RES/$name-$case-strace-c.txt" || true
		timeout -s INT 1 strace -f -tt -y -p "$pid" -o "$RES/$name-$case-strace.txt" || true
		sed "s/^/PROFILE $name $case strace: /" "$RES/$name-$case-strace-c.txt"
		head -80 "$RES/$name-$case-strace.txt" | sed "s/^/PROFILE $name $case trace: /"
	elif [[ -n $pid ]]; then
		perf stat -x, -o "$RES/$name-$case-syscalls.csv" "${ev[@]}" -e task-clock \
			-e context-switches -p "$pid" -- sleep 3
	else
		sleep 3
	fi
	n1=$(disk_ios "$disk")
	n=$((n1 - n0))
	if [[ -n $pid && -n ${PROF_TRACE:-} ]]; then
		n0=$(disk_ios "$disk")
		perf trace -s -p "$pid" -o "$RES/$name-$case-trace.txt" -- sleep 2 >/dev/null 2>&1 || true
		n1=$(disk_ios "$disk")
		# "   syscall   calls  errors  total(msec)  min  avg  max  stddev"
		awk -v n=$((n1 - n0)) -v who="$name $case" '$2 ~ /^[0-9]+$/ && $4 ~ /^[0-9.]+$/ {
			printf "PROFILE %s time in %s: %d calls, %.1f ms total, %.1f us per I/O\n", who, $1, $2, $4, $4 * 1000 / (n ? n : 1) }' \
			"$RES/$name-$case-trace.txt"
		echo "PROFILE $name $case: trace window $((n1 - n0)) I/Os (perf trace slows the daemon)"
	fi
	wait "$fio_pid" || vm_fail "fio $name $case"
	iops=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['jobs'][0]; r=d['read'] if d['read']['iops'] else d['write']; print(round(r['iops']))" "$RES/$name-$case-fio.json")
	echo "PROFILE $name $case: $iops IOPS; $n I/Os in the 3 s window"
	[[ -z $pid || -n ${PROF_STRACE:-} ]] || awk -F, -v n="$n" -v who="$name $case" '$3 != "" { printf "PROFILE %s %s: %s (%.3f per I/O)\n", who, $3, $1, $1 / (n ? n : 1) }' "$RES/$name-$case-syscalls.csv"
}
# limits LABEL DISK: what splits a large I/O on its way down (the front disk's queue limits)
limits() {
	local q=/sys/block/$2/queue
	echo "PROFILE $1 limits: max_sectors_kb $(<"$q/max_sectors_kb") max_hw_sectors_kb $(<"$q/max_hw_sectors_kb") max_segments $(<"$q/max_segments")"
}

for v in $DAEMONS; do
	name=${v%%=*} bin=${v#*=} dio=0 control=""
	if [[ $bin == *:blk=* ]]; then # TCMU data area blocks of N pages
		control=data_pages_per_blk=${bin##*:blk=}
		bin=${bin%:blk=*}
	fi
	[[ $bin == *:dio ]] && dio=1 && bin=${bin%:dio}
	echo "$dio" >/sys/module/sg/parameters/allow_dio
	RDPD=$bin
	rdp_start --config /tmp/prof.conf
	rdp_export prof prof "${SIZE_MB}M" "$control"
	disk=$(rdp_loop_disk)
	limits "$name" "$disk"
	for f in /sys/kernel/config/target/core/user_*/prof/attrib/{hw_max_sectors,max_data_area_mb,hw_queue_depth,data_pages_per_blk}; do
		[[ -r $f ]] && echo "PROFILE $name backstore ${f##*/} $(<"$f")"
	done
	for c in $CASES; do profile "$name" "$disk" "$c" "$RDP_PID"; done
	vm_targetcli >/dev/null <<EOT
/loopback delete $RDP_LOOP_WWN
/backstores/user:rdp delete prof
EOT
	vm_wait 30 test -z "$(_rdp_find_loop_disk)" || vm_fail "tcm_loop disk did not go away"
	rdp_stop
done
echo 0 >/sys/module/sg/parameters/allow_dio

sectors=$(blockdev --getsz "/dev/${PATH_SD[0]}")
table="0 $sectors multipath 0 0 1 1 queue-length 0 2 1 $(<"/sys/block/${PATH_SD[0]}/dev") 1 $(<"/sys/block/${PATH_SD[1]}/dev") 1"
dmsetup create mpprof --table "$table" || vm_fail "dmsetup create"
dmsetup mknodes
vm_targetcli >/dev/null <<EOT
/backstores/block create name=mp dev=/dev/mapper/mpprof
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/block/mp
EOT
disk=$(rdp_loop_disk)
limits dm "$disk"
limits "path ${PATH_SD[0]}" "${PATH_SD[0]}"
for c in $CASES; do profile dm "$disk" "$c"; done
echo "RESULT profile: done"
