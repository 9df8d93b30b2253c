# Debian 12 packages the project needs, and the one function that installs the missing ones.
# Sourced by tests/run and examples/demo.
RDP_BUILD_PKGS="gcc clang meson ninja-build pkg-config systemd libglib2.0-dev libnl-genl-3-dev
 libsgutils2-dev libudev-dev libjson-glib-dev linux-libc-dev valgrind"
# clang's sanitizer and libFuzzer runtimes (only "Recommends" of clang): tests/fuzz/run, build-asan
RDP_BUILD_PKGS="$RDP_BUILD_PKGS libclang-rt-14-dev"
# abidw/abidiff: librdp's ABI against its committed baseline (tests/abi/check-abi)
RDP_BUILD_PKGS="$RDP_BUILD_PKGS abigail-tools"
# the Debian packages of debian/ (tests/deb/build): dpkg-buildpackage, debhelper, lintian
RDP_BUILD_PKGS="$RDP_BUILD_PKGS dpkg-dev debhelper fakeroot lintian dbus"
# the VM and what runs inside it (the guest sees this machine's root read-only)
RDP_VM_PKGS="qemu-system-x86 linux-image-amd64 busybox-static cpio gzip kmod iproute2 targetcli-fb
 python3-dbus dbus sg3-utils fio open-iscsi libiscsi-bin multipath-tools systemd bc
 resource-agents"

rdp_install_deps() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing Debian packages: ${missing[*]}" >&2
		echo "run as root (the tests also need root for the VM), or: sudo apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}
