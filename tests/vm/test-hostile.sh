#!/bin/bash
# Hostile and broken input while a verifying load runs on a healthy LUN (lunA): bad cfgstrings
# (paths, '..', unknown sections, sections naming a regular file, a block device, /dev/null, a
# directory, a missing device, a symlink to another LUN's sg device, the gateway's own tcm_loop
# disk; wwid= of a LUN already served) through targetcli, D-Bus CheckConfig (as root and as a
# user) and a device made by hand in configfs; malformed
# configuration files given to `rdpctl reload` and SIGHUP; non-root callers of the changing
# rdpctl methods (refused by the bus policy, and by the daemon itself under a too-wide policy);
# raw CDBs through the initiator's sg node (unknown opcodes, transfer lengths that disagree with
# the data buffer or pass the LUN's end); a backing device deleted with commands in flight; a
# second backstore (lunB) deleted while fio runs on it. Afterwards lunA's fio has 0 errors and
# the daemon still answers rdpctl. docs/hostile-input.md has the table this test checks.
#
# Two LUNs from one scsi_debug store: three hosts share one store and one WWID. lunA gets paths
# 0 and 1, lunB path 2, each with paths= in its own section (a device may serve one LUN only, and
# a wwid= LUN would take all three). Both backstores see the same blocks, so their fio regions
# are kept apart: lunA writes [0, 16M), lunB [64M, 112M); the raw WRITEs aim at block 200000
# (~98M of lunA, past both) and must be refused anyway.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

WORK=/tmp/hostile
CONF=$WORK/rdp.conf
LOOP_A=naa.5001405000000001
LOOP_B=naa.5001405000000002
CHECKS=0
FAILED=()

# ok WHAT: one assertion held. bad WHAT DETAIL: one did not; the test goes on and fails at the
# end with every failed check listed (one run shows all of them).
ok() {
	CHECKS=$((CHECKS + 1))
	vm_log "  ok: $1"
}
bad() {
	FAILED+=("$1: $2")
	printf 'CHECK FAILED: %s: %s\n' "$1" "$2" >&2
}

# run CMD...: output (stdout and stderr) in OUT, exit code in RC.
run() {
	RC=0
	OUT=$("$@" 2>&1) || RC=$?
}

# expect WHAT good|error TEXT...: the last run exited 0 (good) or not (error) and its output
# holds every TEXT.
expect() {
	local what=$1 want=$2 t
	shift 2
	if [[ $want == good ]] && ((RC != 0)); then
		bad "$what" "exit $RC: $OUT"
		return
	fi
	if [[ $want == error ]] && ((RC == 0)); then
		bad "$what" "succeeded: $OUT"
		return
	fi
	for t in "$@"; do
		if [[ $OUT != *"$t"* ]]; then
			bad "$what" "no '$t' in: $OUT"
			return
		fi
	done
	ok "$what"
}

# check WHAT DETAIL CMD...: CMD must succeed; DETAIL says what was seen when it does not.
check() {
	local what=$1 detail=$2
	shift 2
	if "$@"; then ok "$what"; else bad "$what" "$detail"; fi
}
contains() { [[ $1 == *"$2"* ]]; }
equals() { [[ $1 == "$2" ]]; }

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# lun_field LUN PYTHON-EXPR: a value from rdpctl's JSON for LUN (l is the LUN's object).
lun_field() {
	"$RDPCTL" show luns --json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
ls = [l for l in doc["luns"] if l["name"] == sys.argv[1]]
if not ls:
    print("absent")
else:
    l = ls[0]
    print(eval(sys.argv[2]))' "$1" "$2"
}
path_states() { lun_field lunA '" ".join("%s:%s" % (p["dev"], p["state"]) for p in l["paths"])'; }
# conditions for vm_wait (it runs a command in this shell, again and again)
path_is() { [[ $(path_states) == *"$1:$2"* ]]; }
lunA_has_paths() { [[ $(lun_field lunA 'len(l["paths"])') == "$1" ]]; }
lunB_busy() { [[ $(lun_field lunB 'l["stats"]["cmds"] > 200') == True ]]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
log_grew() { (($(grep -c "$1" "$RDP_LOG" || true) > $2)); }

# the tcm_loop disk of the newest tcm_loop host that is not $1
loop_disk_except() {
	local h d
	for h in $(printf '%s\n' /sys/class/scsi_host/host* | sort -V -r); do
		[[ $(<"$h/proc_name") == tcm_loopback ]] || continue
		for d in "$h"/device/target*/*/block/sd*; do
			[[ -e $d && -b /dev/${d##*/} && ${d##*/} != "$1" ]] || continue
			echo "${d##*/}"
			return 0
		done
	done
	return 1
}

mkdir -p $WORK
vm_scsi_debug_paths 3

# --- configuration: two real LUNs and one section per hostile device kind ------------------
echo "not a device" >/dev/rdp-hostile-file
mkdir -p /dev/rdp-hostile-dir
ln -sf "${PATH_SG[0]}" /dev/rdp-hostile-alias # a udev-style name for lunA's first path
missing=/dev/sg99
[[ ! -e $missing ]] || vm_fail "$missing exists; pick another missing name"
cat >$CONF <<EOF
[defaults]
checker_interval = 1
grouping = multibus

[lunA]
paths = ${PATH_SG[0]};${PATH_SG[1]}

[lunB]
paths = ${PATH_SG[2]}

[regular]
paths = /dev/rdp-hostile-file

[blockdev]
paths = /dev/${PATH_SD[0]}

[chardev]
paths = /dev/null

[directory]
paths = /dev/rdp-hostile-dir

[missing]
paths = $missing

[alias]
paths = /dev/rdp-hostile-alias

[loop]
paths = /dev/rdp-hostile-loop
EOF
cp $CONF $WORK/good.conf
"$RDPD" --check-config $CONF >/dev/null || vm_fail "the test's own configuration is refused"
rdp_start --config $CONF

vm_targetcli >/dev/null <<EOT
/backstores/user:rdp create name=lunA size=128M cfgstring=lunA
/loopback create $LOOP_A
/loopback/$LOOP_A/luns create /backstores/user:rdp/lunA
EOT
vm_wait 60 loop_disk_except "" >/dev/null || vm_fail "no tcm_loop disk for lunA"
diskA=$(loop_disk_except "")
sgA=/dev/$(ls "/sys/block/$diskA/device/scsi_generic")
ln -sf "$sgA" /dev/rdp-hostile-loop # the gateway's own disk, as section [loop] names it
vm_targetcli >/dev/null <<EOT
/backstores/user:rdp create name=lunB size=128M cfgstring=lunB
/loopback create $LOOP_B
/loopback/$LOOP_B/luns create /backstores/user:rdp/lunB
EOT
vm_wait 60 loop_disk_except "$diskA" >/dev/null || vm_fail "no tcm_loop disk for lunB"
diskB=$(loop_disk_except "$diskA")
vm_log "lunA: $diskA ($sgA), lunB: $diskB"

# --- the load: verifying fio runs on lunA, one after the other, until told to stop ----------
# (a fresh seed per run, so a lost write cannot hide behind the previous run's identical data)
(
	i=0
	while [[ ! -e $WORK/stop ]]; do
		i=$((i + 1))
		rdp_fio "loadA-$i" "$diskA" --size=16M --verify_backlog=64 --randseed=$((1000 + i)) \
			--eta=never >/dev/null 2>&1 || echo "run $i exit $?" >>$WORK/fioA-failed
	done
	echo "$i" >$WORK/fioA-runs
) &
loadA=$!
vm_wait 30 test -e "$VMOUT/loadA-1.json" || true

# --- 1. cfgstrings: refused by CheckConfig (targetcli) with the reason --------------------
vm_log "hostile cfgstrings through targetcli"
declare -A WHY=(
	[/dev/rdp-hostile-file]="cannot be a LUN name: it contains '/'"
	[..]="cannot be a LUN name: it contains '..'"
	[../../dev/${PATH_SG[0]##*/}]="cannot be a LUN name: it contains '/'"
	[nosuchlun]="no LUN section [nosuchlun] in $CONF; known LUN sections: [lunA], [lunB]"
	[regular]="[regular] paths: /dev/rdp-hostile-file: not an SCSI generic (sg) character device (it is a regular file)"
	[blockdev]="[blockdev] paths: /dev/${PATH_SD[0]}: not an SCSI generic (sg) character device (it is a block device"
	[chardev]="[chardev] paths: /dev/null: not an SCSI generic (sg) character device (it is character device 1:3; sg devices have major 21)"
	[directory]="[directory] paths: /dev/rdp-hostile-dir: not an SCSI generic (sg) character device (it is a directory)"
	[missing]="[missing] paths: $missing: does not exist"
	[alias]="/dev/rdp-hostile-alias is ${PATH_SG[0]}, already a path of LUN lunA"
	[loop]="/dev/rdp-hostile-loop: is a LUN this machine's own target exports (tcm_loop): a path through it would loop back into the gateway"
	[lunA]="${PATH_SG[0]} is already a path of LUN lunA"
	[wwid=$WWID]="is already a path of LUN lun"
	[wwid=naa.60/../x]="the WWID contains '/'"
)
cmds=""
n=0
for cfg in "${!WHY[@]}"; do
	n=$((n + 1))
	cmds+="/backstores/user:rdp create name=hostile$n size=16M cfgstring=$cfg"$'\n'
done
run targetcli <<<"$cmds"
n=${#FAILED[@]}
for cfg in "${!WHY[@]}"; do
	check "targetcli create cfgstring=$cfg refused: ${WHY[$cfg]}" "not in targetcli's output" \
		contains "$OUT" "${WHY[$cfg]}"
done
((${#FAILED[@]} == n)) || printf 'targetcli said:\n%s\n' "$OUT" >&2
left=$(ls -d /sys/kernel/config/target/core/user_*/hostile* 2>/dev/null || true)
check "no hostile backstore exists after the refused creates" "left: $left" equals "$left" ""

# --- 2. the same through D-Bus CheckConfig, as root and as a user --------------------------
check_config() { # [nobody] CFGSTRING
	local pre=()
	[[ $1 != nobody ]] || {
		pre=(nobody)
		shift
	}
	run "${pre[@]}" dbus-send --system --print-reply --dest=org.kernel.TCMUService1 \
		/org/kernel/TCMUService1/rdp org.kernel.TCMUService1.CheckConfig "string:rdp/$1"
}
for cfg in alias missing regular lunA; do
	check_config "$cfg"
	expect "CheckConfig($cfg) answers false with the reason" good "boolean false" "${WHY[$cfg]}"
done
check_config nobody blockdev
expect "CheckConfig(blockdev) from uid 65534: false, with the reason" good "boolean false" "${WHY[blockdev]}"
check_config "wwid=$WWID"
expect "CheckConfig(wwid=<lunA's WWID>): its devices serve lunA and lunB" good "boolean false" \
	"is already a path of LUN lun"

# --- 3. a device made by hand in configfs, no CheckConfig: refused at enable ---------------
hba=/sys/kernel/config/target/core/user_77
mkdir -p $hba/byhand
echo "dev_config=rdp/alias,dev_size=16777216" >$hba/byhand/control
run sh -c "echo 1 >$hba/byhand/enable"
expect "configfs enable of cfgstring 'alias' fails" error
check "the refused device is not enabled" "enabled" equals "$(<$hba/byhand/enable)" 0
check "the daemon logs why it refused tcm-user/77/byhand/rdp/alias" "no reason in the log" \
	grep -q "refusing tcm-user/77/byhand/rdp/alias: byhand: .*already a path of LUN lunA" "$RDP_LOG"
rmdir $hba/byhand $hba

# --- 4. malformed configuration files: reload refused, the running LUNs unchanged ---------
vm_log "malformed configuration files"
before=$(path_states)
printf '[lunA]\npaths = \x00\xff\xfe\n' >$CONF
run "$RDPCTL" reload
expect "reload of a file with a NUL byte refused" error "reload refused, the running configuration stays" \
	"$CONF:2: contains a NUL byte"
printf '[lunA]\npaths = /dev/../dev/sg0\n' >$CONF
run "$RDPCTL" reload
expect "reload of a path with '..' refused" error "$CONF:2: [lunA] paths: /dev/../dev/sg0: has a '..' component"
printf '[lunA]\npaths = %s\n[lunB]\npaths = %s\n' "${PATH_SG[0]}" "${PATH_SG[0]}" >$CONF
run "$RDPCTL" reload
expect "reload of a device listed by two LUNs refused" error "${PATH_SG[0]} is already used by [lunA] (line 2)"
printf '[lunA\npaths = %s\n' "${PATH_SG[0]}" >$CONF
run "$RDPCTL" reload
expect "reload of an unterminated section header refused" error "$CONF:1:"
head -c 3000 /dev/urandom >$CONF
n=$(grep -c "reload refused" "$RDP_LOG" || true)
kill -HUP "$RDP_PID"
check "SIGHUP with random bytes refused" "no refusal logged" vm_wait 10 log_grew "reload refused" "$n"
run "$RDPD" --check-config $CONF
expect "--check-config of random bytes fails" error "$CONF:"
check "lunA's paths unchanged after the refused reloads ($before)" "now $(path_states)" \
	equals "$(path_states)" "$before"
cp $WORK/good.conf $CONF
run "$RDPCTL" reload
expect "reload of the good file again" good

# --- 5. non-root callers: refused by the bus policy, and by the daemon itself --------------
vm_log "non-root callers"
"$RDPCTL" fail path "${PATH_SG[1]}" >/dev/null || vm_fail "root could not fail ${PATH_SG[1]}"
before=$(path_states)
[[ $before == *"${PATH_SG[1]}:failed"* ]] || vm_fail "root's fail path did not take: $before"
run nobody "$RDPCTL" fail path "${PATH_SG[0]}"
expect "uid 65534: rdpctl fail path refused" error "only root may fail paths"
run nobody "$RDPCTL" reinstate path "${PATH_SG[1]}"
expect "uid 65534: rdpctl reinstate path refused" error "only root may reinstate paths"
run nobody "$RDPCTL" switch-group lunA 0
expect "uid 65534: rdpctl switch-group refused" error "only root may switch path groups"
run nobody "$RDPCTL" reload
expect "uid 65534: rdpctl reload refused" error "only root may reload the configuration"
run nobody "$RDPCTL" show topology
expect "uid 65534: rdpctl show topology allowed" good "lunA"
check "non-root calls changed nothing ($before)" "now $(path_states)" equals "$(path_states)" "$before"
# a policy that lets everyone call everything: the daemon's own uid check still refuses
cat >$WORK/too-wide.conf <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy context="default"><allow send_destination="org.tcmu_rdp"/></policy></busconfig>
EOF
vm_start_dbus $WORK/too-wide.conf
for call in "FailPath string:${PATH_SG[0]}|fail paths" "ReinstatePath string:${PATH_SG[1]}|reinstate paths" \
	"SwitchGroup string:lunA uint32:0|switch path groups" "Reload|reload the configuration"; do
	args=${call%%|*}
	# shellcheck disable=SC2086 # the method and its arguments
	run nobody dbus-send --system --print-reply --dest=org.tcmu_rdp /org/tcmu_rdp/Manager1 \
		org.tcmu_rdp.Manager1.$args
	expect "too-wide policy, uid 65534 ${args%% *}: refused by the daemon" error \
		"org.freedesktop.DBus.Error.AccessDenied" "only root may ${call#*|} (the caller is uid 65534)"
done
check "the daemon logs the refused caller" "not in the log" \
	grep -q "manager: refused FailPath from uid 65534" "$RDP_LOG"
rm /etc/dbus-1/system.d/too-wide.conf
vm_start_dbus
check "calls under the too-wide policy changed nothing" "now $(path_states)" \
	equals "$(path_states)" "$before"
"$RDPCTL" reinstate path "${PATH_SG[1]}" >/dev/null || vm_fail "root could not reinstate ${PATH_SG[1]}"
vm_wait 20 path_is "${PATH_SG[1]}" active || vm_fail "${PATH_SG[1]} did not return: $(path_states)"

# --- 6. raw CDBs through lunA's initiator-side sg node -------------------------------------
vm_log "raw CDBs through $sgA"
failures_before=$(lun_field lunA 'l["stats"]["path_failures"]')
run sg_raw "$sgA" c0 00 00 00 00 00
expect "unknown opcode C0h, no data: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20/00)" error \
	"Illegal Request" "Invalid command operation code"
run sg_raw -r 512 "$sgA" c5 00 00 00 00 00 00 00 01 00
expect "unknown opcode C5h with a data-in buffer: 20/00, not passed on" error \
	"Illegal Request" "Invalid command operation code"
run sg_raw -r 512 "$sgA" 7f 00 00 00 00 00 00 18 00 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
expect "32-byte CDB with an unknown service action: 20/00" error "Illegal Request" \
	"Invalid command operation code"
run sg_raw -r 512 "$sgA" 28 00 00 00 00 00 00 00 08 00
expect "READ(10) of 8 blocks into a 512-byte buffer: ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00)" \
	error "Illegal Request" "Invalid field in cdb"
# a buffer larger than a read asks for is allowed; what the read did not fill must not be some
# earlier command's data (the kernel's data area is reused, and it cannot be told "0 bytes")
run sg_raw -r 512 -o $WORK/read0.bin "$sgA" 28 00 00 00 00 00 00 00 00 00
expect "READ(10) of 0 blocks with a 512-byte buffer: GOOD" good "SCSI Status: Good"
check "READ(10) of 0 blocks: the initiator gets no stale data ($(stat -c %s $WORK/read0.bin) bytes, all 0)" \
	"$(od -An -tx1 $WORK/read0.bin | head -3)" equals "$(tr -d '\0' <$WORK/read0.bin | wc -c)" 0
run sg_raw -r 4096 -o $WORK/inq.bin "$sgA" 12 00 00 10 00 00
inq_len=$(($(od -An -tu1 -j4 -N1 $WORK/inq.bin) + 5))
expect "INQUIRY with a 4 KiB allocation length: GOOD" good "SCSI Status: Good"
check "INQUIRY: nothing past its $inq_len bytes but zeros ($(stat -c %s $WORK/inq.bin) bytes received)" \
	"$(od -An -tx1 -j "$inq_len" $WORK/inq.bin | head -3)" \
	equals "$(tail -c +$((inq_len + 1)) $WORK/inq.bin | tr -d '\0' | wc -c)" 0
run sg_raw -s 512 -i /dev/zero "$sgA" 2a 00 00 03 0d 40 00 00 08 00
expect "WRITE(10) of 8 blocks with 512 bytes of data: 24/00" error "Illegal Request" "Invalid field in cdb"
run sg_raw "$sgA" 2a 00 00 03 0d 40 00 00 01 00
expect "WRITE(10) of 1 block with no data: 24/00" error "Illegal Request" "Invalid field in cdb"
run sg_raw -r 4096 "$sgA" 28 00 00 03 ff ff 00 00 08 00
expect "READ(10) from the last block for 8 blocks: LOGICAL BLOCK ADDRESS OUT OF RANGE (21/00)" error \
	"Illegal Request" "Logical block address out of range"
run sg_raw -r 512 "$sgA" 88 00 ff ff ff ff ff ff ff 00 00 00 00 01 00 00
expect "READ(16) at LBA 2^64-256: 21/00" error "Illegal Request" "Logical block address out of range"
run sg_raw -r 512 "$sgA" 28 00 00 00 00 00 00 00 01 00
expect "READ(10) of 1 block into a 512-byte buffer still works" good "Received 512 bytes"
failures_after=$(lun_field lunA 'l["stats"]["path_failures"]')
check "no raw CDB failed a path (path_failures $failures_after)" "was $failures_before" \
	equals "$failures_after" "$failures_before"
check "the daemon runs after the raw CDBs" "it died" kill -0 "$RDP_PID"

# --- 7. lunB's backstore deleted while fio runs on it --------------------------------------
vm_log "deleting lunB under load"
rc=0
rdp_fio loadB "$diskB" --offset=64M --size=48M --time_based --runtime=600 --eta=never \
	>/dev/null 2>&1 &
loadB=$!
vm_wait 60 lunB_busy ||
	vm_fail "fio on lunB does not get going"
inflightB=$(lun_field lunB 'l["inflight"]')
run targetcli /backstores/user:rdp delete lunB
expect "targetcli deletes lunB while fio writes to it" good
check "fio on lunB ends once its disk is gone" "still running 120 s after the delete" \
	vm_wait 120 gone "$loadB"
wait "$loadB" || rc=$?
vm_log "fio on lunB: exit $rc (its disk went away; errors expected there)"
check "the daemon saw lunB removed" "not logged" grep -q "lun lunB: removed by the kernel" "$RDP_LOG"
check "rdpctl no longer lists lunB" "still listed" equals "$(lun_field lunB '"present"')" absent

# --- 8. a backing device of lunA deleted with commands in flight ---------------------------
vm_log "deleting lunA's path 1 (${PATH_SG[1]}) under load"
vm_path_delete 1
check "the deleted device is failed and dropped from lunA" "no removal logged" \
	vm_wait 20 grep -q "lun lunA: path ${PATH_SG[1]} removed" "$RDP_LOG"
check "lunA keeps one path" "paths now: $(path_states)" vm_wait 20 lunA_has_paths 1
sleep 3 # some load on the single path

# --- end: lunA's load finishes clean, the daemon answers -----------------------------------
touch $WORK/stop
wait "$loadA"
runs=$(<$WORK/fioA-runs)
figures=$(python3 - "$VMOUT" "$runs" <<'PY'
import json, sys
ios = errors = 0
for i in range(1, int(sys.argv[2]) + 1):
    j = json.load(open(f"{sys.argv[1]}/loadA-{i}.json"))["jobs"][0]
    ios += j["write"]["total_ios"] + j["read"]["total_ios"]
    errors += j["error"]
print(f"runs={sys.argv[2]} ios={ios} errors={errors}")
PY
)
vm_log "lunA fio: $figures"
check "every fio run on lunA exited 0" "$(cat $WORK/fioA-failed 2>/dev/null)" test ! -e $WORK/fioA-failed
check "lunA's fio saw 0 errors ($figures)" "$figures" contains "$figures" " errors=0"
check "the daemon still runs" "it died" kill -0 "$RDP_PID"
run "$RDPCTL" show topology
expect "rdpctl show topology answers and shows lunA" good "lunA"
echo "$OUT"

if ((${#FAILED[@]})); then
	printf 'failed: %s\n' "${FAILED[@]}" >&2
	vm_fail "${#FAILED[@]} of $((CHECKS + ${#FAILED[@]})) checks failed"
fi
echo "RESULT hostile: $CHECKS checks passed; lunA fio $figures; lunB deleted under load with $inflightB commands in flight (its fio exit $rc)"
