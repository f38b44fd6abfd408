#!/bin/sh
# Run by `meson install` (`make install`) when installing to the live system
# (never into a DESTDIR): what a package's postinst does. Arguments: the
# installed sysusers.d and tmpfiles.d entries.
set -e
sysusers=$1 tmpfiles=$2
if [ "$(id -u)" != 0 ]; then
	echo "ringfan: not root; as root run: systemd-sysusers $sysusers;" \
		"systemd-tmpfiles --create $tmpfiles; ldconfig"
	exit 0
fi
if command -v systemd-sysusers >/dev/null; then
	systemd-sysusers "$sysusers"
else
	echo "ringfan: no systemd-sysusers: create the user of $sysusers by hand (useradd --system)"
fi
if command -v systemd-tmpfiles >/dev/null; then
	systemd-tmpfiles --create "$tmpfiles"
else
	echo "ringfan: no systemd-tmpfiles: create the directory of $tmpfiles by hand"
fi
ldconfig
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
