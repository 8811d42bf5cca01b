/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out-of-line wrappers for static-inline kernel helpers that Rust cannot call
 * directly (the role the kernel's rust/helpers/ plays for in-tree Rust).
 * Nothing else belongs here: logic lives in the Rust module.
 */
#ifndef WASMNF_HELPERS_H
#define WASMNF_HELPERS_H

#include <linux/types.h>

struct sk_buff;

const void *wasmnf_helper_skb_header_pointer(const struct sk_buff *skb,
					     int offset, int len, void *buffer);

#endif
