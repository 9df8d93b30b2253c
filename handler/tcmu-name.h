/* The name the kernel gives a TCMU device, "tcm-user/<hba>/<devname>/<subtype>/<cfgstring>"
 * (the uio name, also sent in TCM-USER netlink events), split into its parts, and the configfs
 * directory it stands for. Pure string work: no I/O, no allocation except where documented. */
#pragma once

#include <stdbool.h>

#define RDP_TCMU_SUBTYPE "rdp"
#define RDP_CONFIGFS_CORE "/sys/kernel/config/target/core"

/* Each part fits a configfs directory name (NAME_MAX) or the kernel's dev_config (255 chars). */
#define RDP_TCMU_NAME_MAX 256

struct rdp_tcmu_name {
	unsigned int hba;		   /* N of configfs user_N */
	char dev_name[RDP_TCMU_NAME_MAX];  /* the backstore's configfs directory name */
	char subtype[RDP_TCMU_NAME_MAX];   /* handler, "rdp" for us */
	char cfgstring[RDP_TCMU_NAME_MAX]; /* everything after the subtype's '/', may hold '/' */
};

/* Split a uio name. A device whose dev_config has no '/' after the subtype ("tcm-user/0/lun0/rdp")
 * parses with an empty cfgstring, so that it is still recognised as ours and refused with a
 * reason rather than left unanswered. Returns 0, or -EINVAL (out is then zeroed) when the
 * prefix, the hba number, the device name or the subtype is missing or malformed, or a part is
 * too long. */
int rdp_tcmu_name_parse(const char *uio_name, struct rdp_tcmu_name *out);

/* True when uio_name parses and its subtype is "rdp". */
bool rdp_tcmu_name_is_ours(const char *uio_name);

/* "/sys/kernel/config/target/core/user_<hba>/<devname>"; free with g_free(). */
char *rdp_tcmu_name_configfs_dir(const struct rdp_tcmu_name *name);
