/* A program outside the tree that uses librdp: what would the engine do with this completion?
 *
 *   cc classify.c $(pkg-config --cflags --libs librdp) -o rdp-classify
 *   ./rdp-classify STATUS HOST_STATUS [SENSE-HEX]
 *   ./rdp-classify 0x02 0 700005000000000a000000002400   -> target-error (...)
 *   ./rdp-classify 0 0x01                                  -> path-error (...)
 *
 * It asks rdp_classify_completion(), the rule table the engine applies to every command a path
 * returns (docs/engine.md), and prints its verdict and the rule that matched. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdp/rdp.h>

static int hex_byte(const char *s, uint8_t *out)
{
	/* two hex digits exactly: strtoul alone would take a sign or a blank */
	if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
		return -1;
	char buf[3] = {s[0], s[1], 0};
	unsigned long v = strtoul(buf, NULL, 16);
	*out = (uint8_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s STATUS HOST_STATUS [SENSE-HEX]\n", argv[0]);
		return 2;
	}
	struct rdp_io_result res = {0};
	uint8_t sense[RDP_SENSE_MAX];
	char *end;
	unsigned long status = strtoul(argv[1], &end, 0);
	if (*end || status > 0xff) {
		fprintf(stderr, "%s: STATUS must be a byte, not '%s'\n", argv[0], argv[1]);
		return 2;
	}
	unsigned long host = strtoul(argv[2], &end, 0);
	if (*end || host > 0xffff) {
		fprintf(stderr, "%s: HOST_STATUS must be 0..0xffff, not '%s'\n", argv[0], argv[2]);
		return 2;
	}
	res.status = (uint8_t)status;
	res.host_status = (uint16_t)host;
	if (argc == 4) {
		size_t n = strlen(argv[3]);
		if (n % 2 || n / 2 > sizeof(sense)) {
			fprintf(stderr, "%s: SENSE-HEX must be pairs of hex digits, at most %d bytes\n",
				argv[0], RDP_SENSE_MAX);
			return 2;
		}
		for (size_t i = 0; i < n / 2; i++)
			if (hex_byte(argv[3] + 2 * i, &sense[i])) {
				fprintf(stderr, "%s: '%s' is not hex\n", argv[0], argv[3]);
				return 2;
			}
		res.sense_len = (uint8_t)(n / 2);
	}
	struct rdp_classification c = rdp_classify_completion(&res, sense, res.sense_len);
	printf("%s (%s)\n", rdp_verdict_name(c.verdict), c.reason);
	return 0;
}
