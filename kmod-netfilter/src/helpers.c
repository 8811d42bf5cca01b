// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for static-inline kernel helpers used by the Rust
 * module (see helpers.h). Each is a one-line forward, nothing more.
 */
#include <linux/skbuff.h>

#include "helpers.h"

const void *wasmnf_helper_skb_header_pointer(const struct sk_buff *skb,
					     int offset, int len, void *buffer)
{
	return skb_header_pointer(skb, offset, len, buffer);
}
