#!/bin/bash
# vm-scsi-disk: 64 0x5000c50015ea71d2
# rdp-probe (issue 14), librdp's second consumer, on real devices: two scsi_debug paths of one
# LUN and a qemu SCSI disk (the line above) that is another LUN. It must name both paths of the
# LUN with their identity, capacity and ALUA state (checked against sg_readcap and sg_rtpg,
# which read the device themselves), refuse the other LUN's disk, a device listed twice and the
# gateway's own tcm_loop disk, each with its reason, call a path that does not answer "failed"
# (not refused: the daemon keeps such a path), and say so in its exit status.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

[[ -x $RDP_PROBE ]] || vm_fail "$RDP_PROBE not built"
vm_scsi_debug_paths 2
other_sg=$(vm_qemu_disk naa.5000c50015ea71d2)
vm_log "paths ${PATH_SG[*]} ($WWID); another LUN: $other_sg"

# probe ARGS...: rdp-probe's JSON in $VMOUT/probe-N.json, its exit status in $rc
n=0
probe() {
	n=$((n + 1))
	out=$VMOUT/probe-$n.json
	rc=0
	"$RDP_PROBE" --json "$@" >"$out" 2>"$VMOUT/probe-$n.err" || rc=$?
	vm_log "rdp-probe $*: exit $rc"
	cat "$out" >&2
}
# jq-like reads of the last JSON: field EXPR (a python expression over j)
field() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$out" "$1" ||
		vm_fail "no $1 in $out"
}
dev_field() { field "[d for d in j['devices'] if d['device'] == '$1'][0]['$2']"; }

# (1) the LUN by WWID, as cfgstring wwid=<id> finds it
probe --wwid "$WWID"
vm_assert_eq 0 "$rc" "exit status, both paths of the LUN"
vm_assert_eq True "$(field "j['attach']")" "the daemon would attach them"
vm_assert_eq "$WWID" "$(field "j['wwid']")" "the LUN's identity"
vm_assert_eq 2 "$(field "j['paths']")" "paths"
cap=$(sg_readcap "${PATH_SG[0]}") || vm_fail "sg_readcap ${PATH_SG[0]} failed"
read -r blocks bsize < <(awk '/Last LBA=/ { sub(/.*Last LBA=/, ""); lba = $1 + 1 } /Logical block length=/ { sub(/.*length=/, ""); print lba, $1 }' <<<"$cap")
[[ -n ${bsize-} ]] || vm_fail "sg_readcap said: $cap"
vm_assert_eq "$blocks" "$(field "j['blocks']")" "blocks (sg_readcap)"
vm_assert_eq "$bsize" "$(field "j['block_size']")" "block size (sg_readcap)"
for i in 0 1; do
	sg=${PATH_SG[$i]}
	vm_assert_eq path "$(dev_field "$sg" verdict)" "$sg verdict"
	vm_assert_eq "$WWID" "$(dev_field "$sg" wwid)" "$sg identity"
	tpg=$(dev_field "$sg" target_port_group)
	alua=$(dev_field "$sg" alua)
	# sg_rtpg's own decoding of the state of the group this port is in
	sg_rtpg --decode "$sg" >"$VMOUT/rtpg-$i.txt" || vm_fail "sg_rtpg $sg failed"
	want=$(python3 - "$VMOUT/rtpg-$i.txt" "$tpg" <<'EOP'
import re, sys
text, tpg = open(sys.argv[1]).read(), int(sys.argv[2])
# SPC-4's asymmetric access state codes, in the words rdp-probe uses
names = {0: "active/optimized", 1: "active/non-optimized", 2: "standby", 3: "unavailable",
         4: "lba-dependent", 0xe: "offline", 0xf: "transitioning"}
for m in re.finditer(r"target port group id : (0x[0-9a-fA-F]+|\d+)\s*,\s*Pref=(\d)(.*?)asymmetric access state : (0x[0-9a-fA-F]+)", text, re.S):
    if int(m.group(1), 0) == tpg:
        print(names.get(int(m.group(4), 16), "unknown") + (" (preferred)" if m.group(2) == "1" else ""))
        break
EOP
)
	vm_log "$sg: target port group $tpg, rdp-probe: $alua; sg_rtpg: $want"
	[[ -n $want ]] || vm_fail "sg_rtpg names no state for target port group $tpg of $sg"
	vm_assert_eq "$want" "$alua" "$sg ALUA state"
done

# (2) devices by hand, one of them another LUN's: refused with both identities named
probe "${PATH_SG[0]}" "${PATH_SG[1]}" "$other_sg"
vm_assert_eq 1 "$rc" "exit status with a device of another LUN"
# as the daemon does, the set as given is refused whole (a paths= list with this disk in it)
vm_assert_eq False "$(field "j['attach']")" "the daemon would not attach these devices"
vm_assert_eq 2 "$(field "j['paths']")" "paths beside the other LUN's disk"
vm_assert_eq refused "$(dev_field "$other_sg" verdict)" "$other_sg verdict"
why=$(dev_field "$other_sg" reason)
[[ $why == *"answers for LUN naa.5000c50015ea71d2, not $WWID"* ]] ||
	vm_fail "the reason does not name both identities: $why"

# (3) the same device twice
probe "${PATH_SG[0]}" "${PATH_SG[0]}"
vm_assert_eq 1 "$rc" "exit status with a device listed twice"
why=$(field "j['devices'][1]['reason']")
[[ $why == *"the same device as ${PATH_SG[0]}"* ]] || vm_fail "duplicate not named: $why"

# (4) text output: one line per device and the LUN's
rc=0
text=$("$RDP_PROBE" "${PATH_SG[@]}") || rc=$?
echo "$text" >&2
vm_assert_eq 0 "$rc" "exit status, text"
[[ $text == *"LUN $WWID: 2 path(s)"* ]] || vm_fail "text output has no LUN line"

# (5) a path that does not answer is not refused: the daemon would attach the LUN and keep that
# path failed (its checker brings it back), so rdp-probe says "failed" and exits 1
vm_path_offline 1
probe --wwid "$WWID"
vm_path_online 1
vm_assert_eq 1 "$rc" "exit status with a path that does not answer"
vm_assert_eq True "$(field "j['attach']")" "the daemon would still attach the LUN"
vm_assert_eq failed "$(dev_field "${PATH_SG[1]}" verdict)" "the silent path's verdict"
vm_assert_eq path "$(dev_field "${PATH_SG[0]}" verdict)" "the other path's verdict"

# (6) the gateway's own export: a path through it would loop back into the gateway
rdp_start
rdp_export lun0 "wwid=$WWID" 32M
disk=$(rdp_loop_disk)
loop_sg=/dev/$(basename /sys/block/"$disk"/device/scsi_generic/sg*)
probe "$loop_sg"
vm_assert_eq 1 "$rc" "exit status on the gateway's own disk"
why=$(dev_field "$loop_sg" reason)
[[ $why == *"this machine's own target exports"* ]] || vm_fail "own export not refused: $why"
# the paths still probe while the daemon serves them: the daemon holds no device exclusively
# (rdp-probe cannot know which LUN the daemon serves them for: rdpctl show paths does)
probe --wwid "$WWID"
vm_assert_eq 0 "$rc" "exit status while the daemon serves the LUN"
rdp_stop
vm_log "PASS"
