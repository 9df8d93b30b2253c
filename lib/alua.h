/* ALUA (asymmetric logical unit access) without I/O: the REPORT TARGET PORT GROUPS command and its
 * answer, a path's own port group from VPD 0x83, and the state and grouping priority that follow.
 * The engine issues the commands on each path; everything here only reads and writes buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include <librdp/rdp.h>

/* Asymmetric access states. The values are SPC's codes (RTPG descriptor byte 0 bits 3:0), so a
 * known code is its own state; the codes SPC reserves (5h-Dh) and "not asked yet" are
 * RDP_ALUA_UNKNOWN, which no code can produce. */
enum rdp_alua_state {
	RDP_ALUA_AO = 0x0,	      /* active/optimized */
	RDP_ALUA_ANO = 0x1,	      /* active/non-optimized */
	RDP_ALUA_STANDBY = 0x2,	      /* only management commands until activated */
	RDP_ALUA_UNAVAILABLE = 0x3,   /* no media access */
	RDP_ALUA_LBA_DEPENDENT = 0x4, /* access depends on the LBA (SBC-3 referrals) */
	RDP_ALUA_OFFLINE = 0xe,	      /* the port itself is out of service */
	RDP_ALUA_TRANSITIONING = 0xf, /* moving between two of the above; retry later */
	RDP_ALUA_UNKNOWN = 0x10,
};

/* Supported-states bits of an RTPG descriptor (byte 1): which states the group can ever be in. */
#define RDP_ALUA_SUP_AO 0x01
#define RDP_ALUA_SUP_ANO 0x02
#define RDP_ALUA_SUP_STANDBY 0x04
#define RDP_ALUA_SUP_UNAVAILABLE 0x08
#define RDP_ALUA_SUP_LBA_DEPENDENT 0x10
#define RDP_ALUA_SUP_OFFLINE 0x40
#define RDP_ALUA_SUP_TRANSITIONING 0x80

/* TPGS field of standard INQUIRY (byte 5 bits 5:4) */
#define RDP_ALUA_TPGS_NONE 0
#define RDP_ALUA_TPGS_IMPLICIT 1 /* the target changes states itself */
#define RDP_ALUA_TPGS_EXPLICIT 2 /* SET TARGET PORT GROUPS changes them */
#define RDP_ALUA_TPGS_BOTH 3

#define RDP_ALUA_RTPG_CDB_LEN 12
/* A first allocation length that holds a few groups of a few ports; a longer answer is retried
 * with the length the parser reports. */
#define RDP_ALUA_RTPG_INITIAL_LEN 128
/* Longest answer worth retrying for: 64 KiB holds over 120 groups of 255 ports each. A target
 * that claims more is not believed (its return data length field is 32 bits wide). */
#define RDP_ALUA_RTPG_MAX_LEN 65536

/* Grouping priorities, as multipath-tools' alua prioritizer gives them. */
#define RDP_ALUA_PRIO_AO 50
#define RDP_ALUA_PRIO_ANO 10
#define RDP_ALUA_PRIO_LBA_DEPENDENT 5
#define RDP_ALUA_PRIO_STANDBY 1
#define RDP_ALUA_PRIO_NONE 0
#define RDP_ALUA_PRIO_PREF_BONUS 80

/* One target port group as REPORT TARGET PORT GROUPS describes it. */
struct rdp_alua_group {
	uint16_t tpg_id;
	enum rdp_alua_state state;
	uint8_t state_code; /* the raw 4-bit code, kept for logs when state is UNKNOWN */
	bool pref;	    /* the target prefers this group (PREF bit) */
	uint8_t supported;  /* RDP_ALUA_SUP_* */
	uint8_t status;	    /* why the state last changed: 0 none, 1 by STPG, 2 implicitly */
	unsigned int n_ports;
	const uint16_t *ports; /* relative target port ids, into rdp_alua_rtpg; NULL if none */
};

/* A parsed REPORT TARGET PORT GROUPS answer. Zero-initialise before use; clear with
 * rdp_alua_rtpg_clear() (or declare it g_auto(rdp_alua_rtpg)). */
typedef struct rdp_alua_rtpg {
	bool extended;		 /* the answer used the extended header format */
	uint8_t transition_time; /* implicit transition time, s; extended header only */
	unsigned int n_groups;
	struct rdp_alua_group *groups;
	uint16_t *port_store; /* owns every group's ports */
} rdp_alua_rtpg;

/* Where a path enters the target, from its VPD 0x83 page (designators with association "target
 * port": type 5 target port group, type 4 relative target port). */
struct rdp_alua_port {
	bool has_tpg;
	uint16_t tpg_id;
	bool has_rel_port;
	uint16_t rel_port;
};

/* "active/optimized", "standby", ...; "unknown" for anything else. Never NULL. */
const char *rdp_alua_state_name(enum rdp_alua_state state);

/* The state of a 4-bit SPC code; reserved codes give RDP_ALUA_UNKNOWN. */
enum rdp_alua_state rdp_alua_state_from_code(uint8_t code);

/* TPGS field (RDP_ALUA_TPGS_*) of a standard INQUIRY answer of len bytes; -EINVAL when the answer
 * is too short to hold byte 5. Non-zero means the LUN answers REPORT TARGET PORT GROUPS. */
int rdp_alua_tpgs(const uint8_t *inq, size_t len);

/* REPORT TARGET PORT GROUPS (MAINTENANCE IN A3h, service action 0Ah). extended asks for the
 * extended header (implicit transition time); a target that does not know it may answer with the
 * length-only format, which the parser accepts, or with ILLEGAL REQUEST, after which the caller
 * asks again without it. */
void rdp_alua_rtpg_cdb(uint8_t cdb[RDP_ALUA_RTPG_CDB_LEN], uint32_t alloc_len, bool extended);

/* Parse len valid bytes of an RTPG answer (either header format) into *out, which must be zeroed
 * or cleared. Returns 0; -EMSGSIZE when the answer is longer than len bytes (cut by the allocation
 * length): *needed (when not NULL) is then the full length, at most RDP_ALUA_RTPG_MAX_LEN, to ask
 * again with; -EINVAL when the answer is malformed (a length or descriptor count that does not fit,
 * an unknown format, a group listed twice, a length over RDP_ALUA_RTPG_MAX_LEN). Nothing outside
 * the len bytes is read, and *out is left empty on any error. */
int rdp_alua_parse_rtpg(const uint8_t *buf, size_t len, struct rdp_alua_rtpg *out, size_t *needed);

void rdp_alua_rtpg_clear(struct rdp_alua_rtpg *rtpg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(rdp_alua_rtpg, rdp_alua_rtpg_clear)

/* The path's target port group and relative port from a VPD 0x83 page of len bytes. Returns 0
 * when at least one of the two is present; -ENOENT when the page has neither (the target does
 * not report ALUA per port); -EINVAL when the page is not VPD 0x83, is cut short, has a
 * descriptor running past its end, or names two different groups or ports. */
int rdp_alua_port_from_vpd83(const uint8_t *page, size_t len, struct rdp_alua_port *out);

/* The group of the path at port in the answer that path gave. By target port group id when the
 * path reported one (then only that id counts); otherwise by relative port, which must appear in
 * exactly one group. NULL when there is no such group. */
const struct rdp_alua_group *rdp_alua_find_group(const struct rdp_alua_rtpg *rtpg,
						 const struct rdp_alua_port *port);

/* State of that group; RDP_ALUA_UNKNOWN when rdp_alua_find_group() finds none. */
enum rdp_alua_state rdp_alua_path_state(const struct rdp_alua_rtpg *rtpg,
					const struct rdp_alua_port *port);

/* ---- the gateway's own ports (issue 13: several gateways in front of one LUN) ----
 * Gateway N of M is relative target port N in target port group N; every group is
 * active/optimized, since no gateway caches data, except a gateway's own group while it has no
 * usable path to the LUN: that one is unavailable. A gateway knows nothing of the others' paths,
 * so it describes their groups as active/optimized (an initiator may ask any gateway about all
 * of them; one that has lost the LUN says so in its own answer and its commands' sense). */
#define RDP_ALUA_GATEWAY_PORTS_MAX RDP_TARGET_PORTS_MAX
/* The longest answer rdp_alua_gateway_rtpg() builds: extended header, one group per port, each
 * with its one port. */
#define RDP_ALUA_GATEWAY_RTPG_MAX (8 + RDP_ALUA_GATEWAY_PORTS_MAX * 12)
/* Length of the two designators rdp_alua_vpd83_add_port() appends. */
#define RDP_ALUA_VPD83_PORT_LEN 16

/* Append to the VPD 0x83 page of len bytes in page (size bytes of room) a relative target port
 * designator and a target port group designator, both port (binary, association target port,
 * PIV 0), and update the page length. Returns the new length; 0 when page is not a whole VPD
 * 0x83 page, port is 0 or the designators do not fit. */
size_t rdp_alua_vpd83_add_port(uint8_t *page, size_t len, size_t size, uint16_t port);

/* The REPORT TARGET PORT GROUPS answer of gateway own (0: none of them) of ports gateways
 * (1..RDP_ALUA_GATEWAY_PORTS_MAX): groups 1..ports in order, each active/optimized but group own
 * unavailable when !own_usable (PREF 0, AO and U supported, status 0), each with one port, its
 * relative target port id equal to the group id; the extended header (implicit transition time
 * 0) when asked for. Writes the whole answer to buf (RDP_ALUA_GATEWAY_RTPG_MAX bytes) and returns
 * its length; 0 when ports or own is out of range. */
size_t rdp_alua_gateway_rtpg(unsigned int ports, unsigned int own, bool own_usable,
			     bool extended, uint8_t buf[RDP_ALUA_GATEWAY_RTPG_MAX]);

/* Grouping priority, higher is better: AO 50, ANO 10, LBA-dependent 5, standby 1, all others 0.
 * PREF adds 80 to ANO and LBA-dependent (as multipath-tools does by default, so a preferred
 * non-optimized group is used before an unpreferred optimized one) but not to AO (preferred and
 * unpreferred optimized paths stay one group) and, unlike multipath-tools, not to states that
 * carry no I/O: the gateway never activates a group with SET TARGET PORT GROUPS, so a preferred
 * standby or unavailable path must not outrank a path that works. */
int rdp_alua_priority(enum rdp_alua_state state, bool pref);
