/* libFuzzer target for the configuration parser (lib/config.c): the input is a whole
 * tcmu-rdp.conf, loaded through rdp_config_load() from a memfd so that the real file path is
 * taken, then every LUN it defines, the input's first line and a name it lacks are looked up. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-input.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int conf_fd = -1;
static char conf_path[64];

/* What a spec promises its users whatever the file said (docs/configuration.md ranges). */
static void check_spec(const struct rdp_lun_spec *spec, const char *cfgstring)
{
	FZ_CHECK(spec->name && spec->paths);
	FZ_CHECK(spec->cmd_timeout_ms >= 1000 && spec->cmd_timeout_ms <= 3600 * 1000);
	FZ_CHECK(spec->checker_interval_ms >= 1000 && spec->checker_interval_ms <= 3600 * 1000);
	FZ_CHECK(spec->max_checker_interval_ms >= spec->checker_interval_ms);
	FZ_CHECK(spec->max_checker_interval_ms <= 4 * 3600 * 1000);
	FZ_CHECK(spec->max_retries <= 100);
	FZ_CHECK(spec->selector <= RDP_SEL_WEIGHTED);
	FZ_CHECK(spec->grouping <= RDP_GROUP_FAILOVER);
	FZ_CHECK(spec->failback <= RDP_FAILBACK_DEFERRED);
	FZ_CHECK((spec->failback == RDP_FAILBACK_DEFERRED) == (spec->failback_delay_ms != 0));
	FZ_CHECK(spec->no_path_retry <= 10000 || spec->no_path_retry == RDP_NO_PATH_QUEUE);
	FZ_CHECK(spec->marginal_err_count <= 1000);
	/* a port the engine accepts: one of target_ports, named when there are several */
	FZ_CHECK(spec->target_ports >= 1 && spec->target_ports <= 32);
	FZ_CHECK(spec->target_port <= spec->target_ports);
	FZ_CHECK(spec->target_port || spec->target_ports == 1);
	if (spec->wwid) {
		FZ_CHECK(spec->wwid[0] && strlen(spec->wwid) < RDP_WWID_MAX);
		FZ_CHECK(!spec->priorities && !spec->weights);
	}
	/* a LUN given by wwid is found by discovery; one given by paths lists them */
	if (!spec->wwid)
		FZ_CHECK(spec->paths[0]);
	for (unsigned int i = 0; spec->paths[i]; i++) {
		FZ_CHECK(strncmp(spec->paths[i], "/dev/", 5) == 0);
		if (spec->priorities)
			FZ_CHECK(spec->priorities[i] >= 1 && spec->priorities[i] <= 1000);
		if (spec->weights)
			FZ_CHECK(spec->weights[i] >= 1 && spec->weights[i] <= 1000);
	}
	if (!g_str_has_prefix(cfgstring, "wwid="))
		FZ_CHECK(strcmp(spec->name, cfgstring) == 0);
}

static void lookup(const struct rdp_config *cfg, const char *cfgstring, bool must_exist)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(rdp_lun_spec) spec = rdp_lun_spec_lookup(cfg, cfgstring, &err);

	FZ_CHECK(!spec != !err);
	if (must_exist && !spec)
		fprintf(stderr, "LUN [%s] loaded but not found: %s\n", cfgstring, err->message);
	FZ_CHECK(spec || !must_exist);
	if (err)
		FZ_CHECK(err->domain == RDP_CONFIG_ERROR && err->message[0]);
	if (spec)
		check_spec(spec, cfgstring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(rdp_config) cfg = NULL;
	g_auto(GStrv) names = NULL;
	g_autofree char *first = NULL;
	const uint8_t *nl = memchr(data, '\n', size);

	if (conf_fd < 0) {
		conf_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
		FZ_CHECK(conf_fd >= 0);
		snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
	}
	FZ_CHECK(ftruncate(conf_fd, 0) == 0);
	FZ_CHECK(pwrite(conf_fd, data, size, 0) == (ssize_t)size);

	cfg = rdp_config_load(conf_path, false, &err);
	FZ_CHECK(!cfg != !err);
	if (err) {
		/* every message names the file, so the user knows which one to fix */
		FZ_CHECK(err->domain == RDP_CONFIG_ERROR);
		FZ_CHECK(g_str_has_prefix(err->message, conf_path));
	}

	names = rdp_config_lun_names(cfg);
	FZ_CHECK(names);
	for (unsigned int i = 0; names[i]; i++)
		lookup(cfg, names[i], true);

	first = g_strndup((const char *)data, nl ? (size_t)(nl - data) : size);
	lookup(cfg, first, false);
	lookup(NULL, first, false);
	/* a valid name that is (most likely) not a section: the message lists the ones there are */
	lookup(cfg, "fuzz-no-such-lun", false);
	return 0;
}
