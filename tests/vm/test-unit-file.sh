#!/bin/bash
# The daemon as Debian installs it and systemd runs it: the packages of debian/ installed with
# dpkg (unit enabled by the postinst; pkg-config and the example against librdp-dev), under a
# real systemd (PID 1 of its own PID namespace; the guest's PID 1 is the harness). targetcli's
# first call starts the daemon through D-Bus activation; the sandbox is in force (capabilities,
# seccomp, read-only /usr and /etc, writable configfs) and still lets the daemon do its work:
# a verifying write load with a path failover, then a SIGKILL, after which systemd restarts it
# and the new process adopts the device, then `systemctl reload`; then the packages installed
# over themselves under load (an upgrade: the daemon is not restarted, no I/O error); last
# `dpkg -r` stops the unit cleanly and `dpkg -P` removes the configuration. Prints the figures.
set -euo pipefail
source "$RDP_SRC/tests/vm/guest-lib.sh"
source "$RDP_SRC/tests/vm/rdp-lib.sh"

readonly UNIT=tcmu-rdpd.service
SD_PID=""

# ns CMD...: run CMD in systemd's PID and mount namespaces, where systemctl and its /proc work.
ns() { nsenter -t "$SD_PID" -m -p -- "$@"; }
unit_prop() { ns systemctl show -P "$1" "$UNIT"; }
_sd_up() {
	local st
	st=$(ns systemctl is-system-running 2>/dev/null) || true
	[[ $st == running || $st == degraded ]]
}
_unit_active() { [[ $(unit_prop ActiveState) == active ]]; }
_restarted() { [[ $(unit_prop NRestarts) == 1 ]] && _unit_active; }
# journal_has TEXT: the unit's journal holds TEXT. (Read whole first: grep -q closing the pipe
# early would fail the pipeline under pipefail.)
journal_has() {
	local j
	j=$(ns journalctl -u "$UNIT" --no-pager)
	grep -qF -- "$1" <<<"$j"
}

vm_scsi_debug_paths 2

# Installed as an admin installs it: the Debian packages that tests/deb/build made of this tree
# (tests/run builds them first), with dpkg, whose postinst enables the unit as Debian daemons
# are. The daemon, its unit, the D-Bus files and librdp.so.0 all come from the packages.
debs=("$RDP_SRC"/build/deb/librdp0_*.deb "$RDP_SRC"/build/deb/librdp-dev_*.deb "$RDP_SRC"/build/deb/tcmu-rdp_*.deb)
for d in "${debs[@]}"; do [[ -f $d ]] || vm_fail "$d missing: run tests/deb/build build/deb first"; done
# The guest's root is this machine's: a policy-rc.d of this machine (a container's "start no
# daemons") would rule the package scripts in the guest too. A Debian host has none.
rm -f /usr/sbin/policy-rc.d
[[ ! -e /etc/systemd/system/multi-user.target.wants/$UNIT ]] || vm_fail "$UNIT is enabled before the package is installed"
dpkg -i "${debs[@]}" >"$VMOUT/dpkg-install.log" 2>&1 || vm_fail "dpkg -i: $(tail -n 20 "$VMOUT/dpkg-install.log")"
vm_log "installed: $(dpkg-query -W -f '${Package} ${Version}, ' librdp0 librdp-dev tcmu-rdp)"
[[ -L /etc/systemd/system/multi-user.target.wants/$UNIT ]] || vm_fail "the package did not enable $UNIT"
sbindir=/usr/sbin
ldd "$sbindir/tcmu-rdpd" | grep -q "librdp.so.0 => /lib/\|librdp.so.0 => /usr/lib/" ||
	vm_fail "the installed daemon does not use the packaged librdp.so.0: $(ldd "$sbindir/tcmu-rdpd" | grep rdp)"
# librdp-dev: the example builds against the installed .pc and header, and runs
flags=$(pkg-config --cflags --libs librdp) || vm_fail "pkg-config --cflags --libs librdp failed"
cc -Wall -Werror -o /tmp/rdp-classify /usr/share/doc/librdp-dev/examples/classify.c $flags ||
	vm_fail "the example does not build against librdp-dev"
verdict=$(/tmp/rdp-classify 0 0x01)
[[ $verdict == "path-error "* ]] || vm_fail "the example built against the package says: $verdict"
vm_log "pkg-config --cflags --libs librdp: $flags; the example says: $verdict"
printf '[defaults]\nchecker_interval = 2\n' >/etc/tcmu-rdp/tcmu-rdp.conf
# Units of this machine that would touch the test's disks or only cost time.
for u in multipathd.service multipathd.socket open-iscsi.service iscsid.service iscsid.socket \
	systemd-timesyncd.service systemd-pstore.service systemd-firstboot.service \
	systemd-repart.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
	rtslib-fb-targetctl.service; do
	ln -sf /dev/null "/etc/systemd/system/$u"
done
# Only the bus: tcmu-rdpd must come from D-Bus activation, not from a target.
cat >/etc/systemd/system/rdp-test.target <<EOT
[Unit]
Description=tcmu-rdp unit test
Wants=dbus.socket
EOT

# "container" keeps systemd from setting up hardware it does not own here.
container=rdp-vm unshare --pid --fork --mount-proc /lib/systemd/systemd --unit=rdp-test.target \
	--show-status=no --log-level=warning >"$VMOUT/systemd.log" 2>&1 &
unshare_pid=$!
vm_wait 10 pgrep -P "$unshare_pid" >/dev/null || vm_fail "systemd did not start"
SD_PID=$(pgrep -P "$unshare_pid")
vm_wait 120 _sd_up || vm_fail "systemd did not reach its target: $(tail -n 20 "$VMOUT/systemd.log")"
vm_log "systemd up (pid $SD_PID outside its namespace)"
vm_assert_eq inactive "$(unit_prop ActiveState)" "$UNIT before any D-Bus client"

# 1. D-Bus activation: targetcli's first call starts the unit.
out=$(ns targetcli <<EOT 2>&1
/backstores/user:rdp create name=lun0 size=128M cfgstring=wwid=$WWID
/loopback create $RDP_LOOP_WWN
/loopback/$RDP_LOOP_WWN/luns create /backstores/user:rdp/lun0
EOT
) || vm_fail "targetcli: $out"
[[ $out == *"Created LUN 0"* ]] || vm_fail "targetcli did not create the LUN: $out"
vm_assert_eq active "$(unit_prop ActiveState)" "$UNIT after targetcli"
journal_has "dbus: CheckConfig" ||
	vm_fail "the activated daemon did not answer targetcli's CheckConfig"
vm_log "$UNIT started by D-Bus activation"
vm_assert_eq 1 "$(</sys/module/sg/parameters/allow_dio)" "sg allow_dio after the unit started"
journal_has "sg direct I/O is on" || vm_fail "the daemon did not log sg direct I/O as on"
vm_log "the unit turned sg direct I/O on; the daemon logged it"

# 2. The sandbox is in force on the daemon.
pid=$(unit_prop MainPID)
status=$(ns cat "/proc/$pid/status")
vm_assert_eq 1 "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$status")" "NoNewPrivs"
vm_assert_eq 2 "$(awk '/^Seccomp:/ {print $2}' <<<"$status")" "Seccomp (filter mode)"
# CAP_NET_ADMIN is bit 12, CAP_SYS_RAWIO bit 17.
vm_assert_eq 0000000000021000 "$(awk '/^CapBnd:/ {print $2}' <<<"$status")" "capability bounding set"
mounts=$(ns cat "/proc/$pid/mountinfo")
for m in /usr /etc; do
	awk -v m="$m" '$5 == m && $6 ~ /(^|,)ro(,|$)/ {found=1} END {exit !found}' <<<"$mounts" ||
		vm_fail "$m is not read-only for the daemon"
done
awk '$5 == "/sys/kernel/config" && $6 ~ /(^|,)rw(,|$)/ {found=1} END {exit !found}' <<<"$mounts" ||
	vm_fail "/sys/kernel/config is not writable for the daemon"
awk '$5 == "/sys" && $6 ~ /(^|,)ro(,|$)/ {found=1} END {exit !found}' <<<"$mounts" ||
	vm_fail "/sys is not read-only for the daemon"
vm_log "sandbox: no new privileges, seccomp, CapBnd=CAP_SYS_RAWIO+CAP_NET_ADMIN, /usr /etc /sys ro, configfs rw"

# 3. Its work under load: a path fails and returns while fio writes and verifies.
disk=$(rdp_loop_disk)
(
	sleep 4
	vm_log "path 0 offline"
	vm_path_offline 0
	sleep 5
	vm_log "path 0 online"
	vm_path_online 0
) &
faults=$!
rc=0
rdp_fio unit "$disk" --size=64M --time_based --runtime=16 --verify_backlog=128 --eta=never || rc=$?
wait "$faults"
figures=$(rdp_fio_figures unit)
vm_log "fio: $figures (exit $rc)"
((rc == 0)) || vm_fail "fio failed under the unit"
[[ $figures == *" errors=0 "* ]] || vm_fail "fio saw errors: $figures"
journal_has "path ${PATH_SG[0]} active -> failed" ||
	vm_fail "the daemon did not log path 0 failing"
vm_wait 20 journal_has "path ${PATH_SG[0]} checking -> active" ||
	vm_fail "path 0 did not come back"

# 4. A crash: systemd restarts the daemon, which adopts the device; I/O goes on.
killed=$SECONDS
ns systemctl kill -s KILL "$UNIT"
vm_wait 30 _restarted || vm_fail "$UNIT was not restarted after SIGKILL (NRestarts=$(unit_prop NRestarts))"
restart_s=$((SECONDS - killed))
vm_wait 10 journal_has "adopting existing device" ||
	vm_fail "the restarted daemon did not adopt the device"
rc=0
rdp_fio unit-after "$disk" --size=16M --eta=never || rc=$?
((rc == 0)) || vm_fail "fio failed after the restart: $(rdp_fio_figures unit-after)"
vm_log "restarted by systemd in ${restart_s} s, adopted the device; fio after: $(rdp_fio_figures unit-after)"

# 5. systemctl reload: SIGHUP through ExecReload, inside the sandbox.
ns systemctl reload "$UNIT" || vm_fail "systemctl reload $UNIT failed"
vm_wait 10 journal_has "/etc/tcmu-rdp/tcmu-rdp.conf reloaded" || vm_fail "systemctl reload did not reload"
vm_log "systemctl reload: configuration re-read"

failed=$(ns systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
[[ $failed != *"$UNIT"* ]] || vm_fail "$UNIT is failed"

# 6. The packages installed again over themselves, as an upgrade is, under a verifying load and
# with systemd running (the scripts see it): the daemon is not restarted
# (--no-restart-after-upgrade: a restart would drain every backstore), and I/O goes on.
pid_before=$(unit_prop MainPID)
restarts_before=$(unit_prop NRestarts)
(
	sleep 3
	ns dpkg -i "${debs[@]}" >"$VMOUT/dpkg-upgrade.log" 2>&1 && echo ok >"$VMOUT/dpkg-upgrade.rc" ||
		echo failed >"$VMOUT/dpkg-upgrade.rc"
) &
upgrader=$!
rc=0
rdp_fio upgrade "$disk" --size=32M --time_based --runtime=20 --verify_backlog=128 --eta=never || rc=$?
wait "$upgrader"
[[ $(<"$VMOUT/dpkg-upgrade.rc") == ok ]] || vm_fail "dpkg -i over the installed packages: $(tail -n 20 "$VMOUT/dpkg-upgrade.log")"
grep -q "Unpacking tcmu-rdp (0.1.0) over (0.1.0)" "$VMOUT/dpkg-upgrade.log" ||
	vm_fail "dpkg did not take the upgrade path: $(head -n 20 "$VMOUT/dpkg-upgrade.log")"
vm_assert_eq "$pid_before" "$(unit_prop MainPID)" "the daemon's PID across the upgrade"
vm_assert_eq "$restarts_before" "$(unit_prop NRestarts)" "restarts across the upgrade"
upgrade_figures=$(rdp_fio_figures upgrade)
((rc == 0)) || vm_fail "fio failed across the upgrade: $upgrade_figures"
[[ $upgrade_figures == *" errors=0 "* ]] || vm_fail "fio saw errors across the upgrade: $upgrade_figures"
vm_log "packages installed over themselves under load: daemon not restarted (pid $pid_before), fio $upgrade_figures"

# 7. Removal: the package's prerm stops the unit (the daemon drains and exits cleanly); the
# files go, the configuration file stays until purge.
if ! ns timeout 120 dpkg -r tcmu-rdp >"$VMOUT/dpkg-remove.log" 2>&1; then
	ns systemctl status --no-pager "$UNIT" >&2 || true
	ns systemctl list-jobs --no-pager >&2 || true
	ns journalctl -u "$UNIT" --no-pager | tail -n 15 >&2 || true
	ns ps -ef >&2 || true
	vm_fail "dpkg -r: $(tail -n 20 "$VMOUT/dpkg-remove.log")"
fi
# (systemd runs at log level warning here, so the daemon's own last line is the proof)
vm_wait 10 journal_has "stopped cleanly: 1 of 1 device(s)" ||
	vm_fail "removing the package did not stop $UNIT cleanly: $(ns journalctl -u "$UNIT" --no-pager | tail -n 5)"
! ns pgrep -x tcmu-rdpd >/dev/null || vm_fail "tcmu-rdpd still runs after the package was removed"
[[ ! -e /usr/sbin/tcmu-rdpd && ! -e /lib/systemd/system/$UNIT ]] || vm_fail "removal left the daemon or its unit"
[[ -f /etc/tcmu-rdp/tcmu-rdp.conf ]] || vm_fail "removal (not purge) deleted the configuration"
ns dpkg -P tcmu-rdp >>"$VMOUT/dpkg-remove.log" 2>&1 || vm_fail "dpkg -P failed"
[[ ! -e /etc/tcmu-rdp/tcmu-rdp.conf ]] || vm_fail "purge kept the configuration file"
vm_log "dpkg -r stopped $UNIT cleanly and removed it; purge removed the configuration"
ns journalctl -u "$UNIT" --no-pager >"$VMOUT/tcmu-rdpd.journal" || true
echo "RESULT unit-file: package=installed activation=dbus sandbox=ok $figures restart_s=$restart_s upgrade=no-restart removal=clean"
