/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of tools/gen-bindings.sh: the kernel headers whose items the module
 * needs and `kernel::bindings` does not provide. Which items are generated is
 * decided by the allowlists in tools/gen-bindings.sh.
 */
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>
#include <net/genetlink.h>
#include <linux/random.h>

#include "../helpers.h"

/*
 * Field offsets of opaque types (bindgen keeps `struct net_device` opaque),
 * computed by clang from the kernel's own definitions with the kernel's
 * flags, for reads on the packet path without a call into C.
 */
enum {
	WASMNF_NET_DEVICE_IFINDEX_OFFSET = offsetof(struct net_device, ifindex),
};

/*
 * Allocation flags for the loading task's allocations (engine_ffi.rs,
 * wasmnf_kmod_krealloc).
 */
enum {
	WASMNF_GFP_NOFAIL = __GFP_NOFAIL,
	WASMNF_GFP_NOWARN = __GFP_NOWARN,
};
