/* SCSI generic devices coming and going, from uevents on the GLib loop (libudev monitor). With
 * udevd running we listen to its re-broadcast events; without it (a minimal host, the test VM)
 * to the kernel's own, which libudev also decodes. The daemon decides what an event means for
 * its LUNs. */
#include <errno.h>
#include <string.h>

#include <glib-unix.h>
#include <libudev.h>

#include "hotplug.h"

struct rdp_hotplug {
	struct udev *udev;
	struct udev_monitor *mon;
	guint source;
	rdp_hotplug_fn fn;
	void *ud;
};

static gboolean hotplug_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct rdp_hotplug *h = data;
	struct udev_device *dev;

	while ((dev = udev_monitor_receive_device(h->mon))) {
		const char *action = udev_device_get_action(dev);
		const char *sysname = udev_device_get_sysname(dev);
		if (action && sysname && g_str_has_prefix(sysname, "sg")) {
			g_autofree char *node = g_strdup_printf("/dev/%s", sysname);
			if (!strcmp(action, "add"))
				h->fn(h->ud, RDP_HOTPLUG_ADD, node);
			else if (!strcmp(action, "remove"))
				h->fn(h->ud, RDP_HOTPLUG_REMOVE, node);
		}
		udev_device_unref(dev);
	}
	return G_SOURCE_CONTINUE;
}

struct rdp_hotplug *rdp_hotplug_start(rdp_hotplug_fn fn, void *ud, GError **err)
{
	struct rdp_hotplug *h = g_new0(struct rdp_hotplug, 1);
	/* udevd announces itself with its control socket */
	const char *source = g_file_test("/run/udev/control", G_FILE_TEST_EXISTS) ? "udev" : "kernel";

	h->fn = fn;
	h->ud = ud;
	h->udev = udev_new();
	if (h->udev)
		h->mon = udev_monitor_new_from_netlink(h->udev, source);
	if (!h->mon || udev_monitor_filter_add_match_subsystem_devtype(h->mon, "scsi_generic", NULL) < 0 ||
	    udev_monitor_enable_receiving(h->mon) < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "cannot watch for SCSI devices (%s uevents): %s; paths that appear or "
			    "vanish will not be noticed until a reload",
			    source, g_strerror(errno));
		rdp_hotplug_stop(h);
		return NULL;
	}
	h->source = g_unix_fd_add(udev_monitor_get_fd(h->mon), G_IO_IN, hotplug_readable, h);
	g_message("hotplug: watching sg devices (%s uevents)", source);
	return h;
}

void rdp_hotplug_stop(struct rdp_hotplug *h)
{
	if (!h)
		return;
	if (h->source)
		g_source_remove(h->source);
	if (h->mon)
		udev_monitor_unref(h->mon);
	if (h->udev)
		udev_unref(h->udev);
	g_free(h);
}
