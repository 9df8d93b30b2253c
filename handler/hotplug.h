/* Watching /dev/sg* devices appear and disappear (uevents). */
#pragma once

#include <gio/gio.h>

enum rdp_hotplug_action {
	RDP_HOTPLUG_ADD,
	RDP_HOTPLUG_REMOVE,
};

typedef void (*rdp_hotplug_fn)(void *ud, enum rdp_hotplug_action action, const char *devnode);

struct rdp_hotplug;

struct rdp_hotplug *rdp_hotplug_start(rdp_hotplug_fn fn, void *ud, GError **err);
void rdp_hotplug_stop(struct rdp_hotplug *h);
