#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Generate the module's own bindings for kernel APIs that `kernel::bindings`
# lacks (netfilter, skb, netns, generic netlink), with the exact clang flags
# the kernel used for its own bindings.
#
#   gen-bindings.sh OBJTREE HEADER OUTPUT
#
# Called by Kbuild with the kernel tree as the working directory, so the
# relative include paths in the recorded flags resolve. OUTPUT is only
# replaced when its content changes.
set -euo pipefail
objtree=$1 header=$2 out=$3
cmdfile=$objtree/rust/bindings/.bindings_generated.rs.cmd
params=$objtree/rust/bindgen_parameters
[ -f "$cmdfile" ] || { echo "gen-bindings: $cmdfile missing (kernel built without CONFIG_RUST, or not prepared)" >&2; exit 1; }

# The recorded command is `savedcmd_... := bindgen HDR <opts> -o OUT -- <clang flags> ; sed ...`.
# Keep the clang flags only, and drop the depfile option (-Wp,-MMD,...) that
# would overwrite the kernel's own dependency file.
saved=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
clang_flags=${saved#* -- }
clang_flags=${clang_flags%%;*}
eval "set -- $clang_flags"
cflags=()
for f in "$@"; do
	case $f in
	-Wp,-MMD,* | -Wp,-MD,*) ;;
	*) cflags+=("$f") ;;
	esac
done

mapfile -t kparams < <(grep -Ev '^#|^$' "$params" | tr -d "'")
bindgen_opts=()
for p in "${kparams[@]}"; do
	# each line is "--option value" or "--option"
	read -r -a words <<<"$p"
	bindgen_opts+=("${words[@]}")
done

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
${BINDGEN:-bindgen} "$header" "${bindgen_opts[@]}" \
	--rust-target 1.68 --use-core --with-derive-default --no-layout-tests \
	--no-debug '.*' --enable-function-attribute-detection \
	--ctypes-prefix kernel::ffi \
	--allowlist-function 'nf_register_net_hook|nf_unregister_net_hook' \
	--allowlist-function 'wasmnf_helper_.*' \
	--allowlist-function 'genl_register_family|genl_unregister_family|genlmsg_put|nla_put|nla_put_64bit' \
	--allowlist-function 'register_pernet_subsys|unregister_pernet_subsys|ktime_get_mono_fast_ns|get_random_u64' \
	--allowlist-type 'genl_family|genl_ops|genl_info|genlmsghdr|nla_policy|netlink_range_validation|nla_policy_validation' \
	--allowlist-type 'netlink_callback|netlink_ext_ack|nlattr|nlmsghdr|pernet_operations' \
	--allowlist-var 'NLA_.*|GENL_.*|NLM_F_.*|NLMSG_HDRLEN|GENL_HDRLEN|NETLINK_MAX_FMTMSG_LEN|NLMSG_DEFAULT_SIZE' \
	--allowlist-type 'nf_hook_ops|nf_hook_state|nf_inet_hooks|nf_hook_ops_type' \
	--allowlist-var 'WASMNF_.*' \
	--allowlist-var 'init_net|NF_DROP|NF_ACCEPT|NFPROTO_.*|NF_IP_PRI_.*|NF_IP6_PRI_.*' \
	--opaque-type 'net|net_device|sock|nf_hook_entries|rcu_head|sk_buff_head|sec_path|nf_conntrack|skb_ext|module|xarray|task_struct' \
	--allowlist-type 'sk_buff|net|net_device' \
	-o "$tmp" -- "${cflags[@]}" -DMODULE
if ! cmp -s "$tmp" "$out"; then
	mv "$tmp" "$out"
fi
