/* The names of org.tcmu_rdp.Manager1 (docs/dbus.md): all that rdpctl and the daemon share. */
#pragma once

#define RDP_MANAGER_NAME "org.tcmu_rdp"
#define RDP_MANAGER_PATH "/org/tcmu_rdp/Manager1"
#define RDP_MANAGER_IFACE "org.tcmu_rdp.Manager1"

/* D-Bus error names beyond the standard org.freedesktop.DBus.Error.* ones. */
#define RDP_MANAGER_ERROR_NOT_FOUND "org.tcmu_rdp.Error.NotFound" /* no such path or LUN */
#define RDP_MANAGER_ERROR_FAILED "org.tcmu_rdp.Error.Failed"	  /* the engine refused */
