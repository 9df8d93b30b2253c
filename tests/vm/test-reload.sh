#!/bin/bash
# Operations: a LUN from a config section; under a verifying load the file gains a path and a
# new selector and `rdpctl reload` applies it live; then SIGHUP applies the removal of the first
# path. rdpctl --json is parsed and checked; a non-root `rdpctl fail path` is refused.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

vm_scsi_debug_paths 2
conf=/tmp/rdp.conf
printf '[defaults]\nchecker_interval = 2\n[lun0]\npaths = %s\ngrouping = multibus\n' "${PATH_SG[0]}" >$conf
tcmu-check() { "$RDPD" --check-config "$conf" >/dev/null || vm_fail "config rejected: $(cat $conf)"; }
tcmu-check
rdp_start --config $conf
rdp_export lun0 lun0
disk=$(rdp_loop_disk)

json_paths() { # dev:state:cmds for each path of lun0
	"$RDPCTL" show paths --json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
lun = [l for l in doc["luns"] if l["name"] == "lun0"][0]
print(" ".join("%s:%s:%s" % (p["dev"], p["state"], p["stats"]["cmds"]) for p in lun["paths"]))'
}
[[ $(json_paths) == "${PATH_SG[0]}:active:"* ]] || vm_fail "rdpctl --json: $(json_paths)"

(
	sleep 4
	printf '[defaults]\nchecker_interval = 2\n[lun0]\npaths = %s;%s\ngrouping = multibus\nselector = queue-length\n' \
		"${PATH_SG[0]}" "${PATH_SG[1]}" >$conf
	vm_log "rdpctl reload: $("$RDPCTL" reload 2>&1)"
	sleep 6
	printf '[defaults]\nchecker_interval = 2\n[lun0]\npaths = %s\ngrouping = multibus\n' "${PATH_SG[1]}" >$conf
	kill -HUP "$RDP_PID"
	vm_log "SIGHUP sent"
) &
changer=$!
rc=0
rdp_fio reload "$disk" --size=64M --time_based --runtime=18 --verify_backlog=128 --eta=never || rc=$?
wait "$changer"
figures=$(rdp_fio_figures reload)
vm_log "fio: $figures (exit $rc)"
((rc == 0)) || vm_fail "fio failed across the reloads"
[[ $figures == *" errors=0 "* ]] || vm_fail "errors across the reloads: $figures"
grep -q "path ${PATH_SG[1]} added" "$RDP_LOG" || vm_fail "reload did not add ${PATH_SG[1]}"
grep -q "path ${PATH_SG[0]} removed" "$RDP_LOG" || vm_fail "SIGHUP did not remove ${PATH_SG[0]}"
paths=$(json_paths)
vm_log "paths now: $paths"
[[ $paths == "${PATH_SG[1]}:active:"* && $paths != *"${PATH_SG[0]}"* ]] || vm_fail "after reloads: $paths"
sg1_cmds=${paths##*:}
((sg1_cmds > 0)) || vm_fail "the added path carried no I/O"

# a bad file is refused and the running settings stay
echo "bogus_key = 1" >>$conf
out=$("$RDPCTL" reload 2>&1 || true)
vm_log "bad reload: $out"
[[ $out == *"bogus_key"* ]] || vm_fail "bad reload not refused with the key named: $out"
[[ $(json_paths) == "${PATH_SG[1]}:active:"* ]] || vm_fail "a refused reload changed the LUN"

# only root may change state: the bus policy (and the daemon) refuse uid 65534
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$RDPCTL" fail path "${PATH_SG[1]}" 2>&1) &&
	vm_fail "non-root fail path succeeded: $out"
vm_log "non-root fail path: $out"
[[ $(json_paths) == "${PATH_SG[1]}:active:"* ]] || vm_fail "non-root caller changed a path"
setpriv --reuid=65534 --regid=65534 --clear-groups "$RDPCTL" show topology >/dev/null ||
	vm_fail "non-root show topology refused"
"$RDPCTL" show topology
echo "RESULT reload: $figures; added and removed live; sg1 carried $sg1_cmds cmds; non-root fail refused"
