/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Out-of-line wrappers for static-inline kernel helpers that Rust cannot call
 * directly (the role the kernel's rust/helpers/ plays for in-tree Rust), and
 * accessors for the few fields bindgen can only reach through anonymous
 * struct groups or opaque types, the module parameter's accessor, and the
 * engine's fault-injection point.
 * Nothing else belongs here: logic lives in the Rust module.
 */
#ifndef WASMNF_HELPERS_H
#define WASMNF_HELPERS_H

#include <linux/types.h>

struct sk_buff;
struct net;
struct net_device;
struct sock;
struct genl_family;
struct genl_info;
struct netlink_callback;
struct nlattr;
struct task_struct;

const void *wasmnf_helper_skb_header_pointer(const struct sk_buff *skb,
					     int offset, int len, void *buffer);

unsigned long wasmnf_helper_map_memory_max(void);
void wasmnf_helper_fault_init(void);
void wasmnf_helper_fault_exit(void);
bool wasmnf_helper_fail_engine_alloc(size_t size);

bool wasmnf_helper_bh_enter(unsigned int *cpu);
void wasmnf_helper_bh_exit(void);
bool wasmnf_helper_in_task(void);
void wasmnf_helper_rcu_read_lock(void);
void wasmnf_helper_rcu_read_unlock(void);
struct task_struct *wasmnf_helper_current(void);

struct net *wasmnf_helper_genl_info_net(const struct genl_info *info);
struct net *wasmnf_helper_sock_net(const struct sock *sk);
struct sk_buff *wasmnf_helper_genlmsg_new(size_t payload);
void wasmnf_helper_genlmsg_end(struct sk_buff *skb, void *hdr);
void wasmnf_helper_genlmsg_cancel(struct sk_buff *skb, void *hdr);
int wasmnf_helper_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
void wasmnf_helper_nlmsg_free(struct sk_buff *skb);
struct nlattr *wasmnf_helper_nla_nest_start(struct sk_buff *skb, int type);
void wasmnf_helper_nla_nest_end(struct sk_buff *skb, struct nlattr *start);
void wasmnf_helper_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start);
void wasmnf_helper_genl_dump_check_consistent(struct netlink_callback *cb,
					      void *user_hdr);
unsigned int wasmnf_helper_nr_cpu_ids(void);
u32 wasmnf_helper_netlink_portid(const struct sk_buff *skb);
const struct genl_family *wasmnf_helper_genl_dump_family(struct netlink_callback *cb);

#endif
