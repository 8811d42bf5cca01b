// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-line wrappers for static-inline kernel helpers used by the Rust
 * module (see helpers.h). Each is a one-line forward, nothing more.
 */
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/bottom_half.h>
#include <linux/smp.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/rcupdate.h>
#include <net/sock.h>
#include <net/genetlink.h>
#include <linux/netlink.h>
#include <linux/moduleparam.h>
#include <linux/fault-inject.h>
#include <linux/debugfs.h>

#include "helpers.h"

/*
 * The module's one parameter (Rust-for-Linux in 6.12 has no module
 * parameters yet): the most bytes the maps of all filters of one network
 * namespace may take together. Read-only once loaded (0444), so it is read
 * without a lock. The default must stay genl::NET_MAP_MEMORY_MAX, which
 * docs/netlink.md gives.
 */
static unsigned long map_memory_max = 1UL << 30;
module_param(map_memory_max, ulong, 0444);
MODULE_PARM_DESC(map_memory_max,
		 "bytes the maps of one network namespace may take together (default 1 GiB)");

unsigned long wasmnf_helper_map_memory_max(void)
{
	return map_memory_max;
}

/*
 * Fault injection for the engine's fallible load-time allocations (those
 * inside wasmnf_engine::fallible::may_fail; engine_ffi.rs): a fault
 * attribute like failslab's, /sys/kernel/debug/fail_wasmnf_alloc, which
 * /proc/<pid>/fail-nth also counts. It exists because failslab and
 * fail_page_alloc cannot aim at these: the engine's load runs on the
 * module's own stack (altstack.rs), where the unwinder finds no caller for
 * their stacktrace filters. Without CONFIG_FAULT_INJECTION nothing fails.
 */
#ifdef CONFIG_FAULT_INJECTION
static DECLARE_FAULT_ATTR(fail_wasmnf_alloc);
#endif
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
static struct dentry *fail_wasmnf_alloc_dir;
#endif

void wasmnf_helper_fault_init(void)
{
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	struct dentry *dir = fault_create_debugfs_attr("fail_wasmnf_alloc", NULL,
						       &fail_wasmnf_alloc);

	if (!IS_ERR(dir))
		fail_wasmnf_alloc_dir = dir;
#endif
}

void wasmnf_helper_fault_exit(void)
{
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
	debugfs_remove_recursive(fail_wasmnf_alloc_dir);
	fail_wasmnf_alloc_dir = NULL;
#endif
}

bool wasmnf_helper_fail_engine_alloc(size_t size)
{
#ifdef CONFIG_FAULT_INJECTION
	return should_fail(&fail_wasmnf_alloc, size);
#else
	return false;
#endif
}

const void *wasmnf_helper_skb_header_pointer(const struct sk_buff *skb,
					     int offset, int len, void *buffer)
{
	return skb_header_pointer(skb, offset, len, buffer);
}

/*
 * Disables bottom halves unless they already are (softirq context, or a
 * caller that did local_bh_disable): either way no softirq can then run on
 * this CPU and the task cannot migrate. Stores the CPU id; returns whether
 * it disabled them (to be undone by wasmnf_helper_bh_exit). Not for
 * PREEMPT_RT, where softirq_count() means something else.
 */
bool wasmnf_helper_bh_enter(unsigned int *cpu)
{
	bool disable = !softirq_count();

	if (disable)
		local_bh_disable();
	*cpu = smp_processor_id();
	return disable;
}

void wasmnf_helper_bh_exit(void)
{
	local_bh_enable();
}

void wasmnf_helper_rcu_read_lock(void)
{
	rcu_read_lock();
}

void wasmnf_helper_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

bool wasmnf_helper_in_task(void)
{
	return in_task();
}

struct task_struct *wasmnf_helper_current(void)
{
	return current;
}

struct net *wasmnf_helper_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

struct net *wasmnf_helper_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

struct sk_buff *wasmnf_helper_genlmsg_new(size_t payload)
{
	return genlmsg_new(payload, GFP_KERNEL);
}

void wasmnf_helper_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void wasmnf_helper_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

int wasmnf_helper_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

void wasmnf_helper_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

struct nlattr *wasmnf_helper_nla_nest_start(struct sk_buff *skb, int type)
{
	return nla_nest_start(skb, type);
}

void wasmnf_helper_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_end(skb, start);
}

void wasmnf_helper_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}

void wasmnf_helper_genl_dump_check_consistent(struct netlink_callback *cb,
					      void *user_hdr)
{
	genl_dump_check_consistent(cb, user_hdr);
}

unsigned int wasmnf_helper_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

u32 wasmnf_helper_netlink_portid(const struct sk_buff *skb)
{
	return NETLINK_CB(skb).portid;
}

const struct genl_family *wasmnf_helper_genl_dump_family(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->family;
}
