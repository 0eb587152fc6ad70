// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Node.js async context, from uprobes on the runtime's native async
 * machinery, so a call a Node.js server makes can be tied to the request
 * it serves (collector/conn/AsyncTies.ts). Userspace attaches these to the
 * node executable of each traced Node.js process, for that process only
 * (collector/node/NodeProbes.ts):
 *
 *   InternalCallbackScope(Environment*, Local<Object>, const async_context&, int)  node_scope
 *   InternalCallbackScope(AsyncWrap*, int)                                         node_scope_wrap
 *   AsyncWrap::AsyncReset(Local<Object>, double, bool), entry and return           node_reset, node_reset_ret
 *
 * Every callback from libuv into JavaScript (a socket read, a connect, a
 * DNS answer, a timer) runs inside an InternalCallbackScope, an object on
 * the stack of the frame that opens it: the scope is open while the thread
 * runs below that address (its nextTicks and microtasks run in its
 * Close(), still below), so no probe on Close is needed: a uprobe is a
 * trap, the costliest part of all this. Each native async resource (a
 * socket, a connect request, an HTTP parser) gets its id in AsyncReset.
 * These are C++ member functions: `this` comes first, so arguments are
 * shifted by one register.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "emit.bpf.h"

/*
 * Where node::AsyncWrap keeps async_id_: after BaseObject (a vtable, a
 * v8::Global, the Realm and pointer data: four pointers) and the provider
 * type, as AsyncReset's own code reads it in Node.js 20 on x86-64. Other
 * builds may differ: userspace checks that what it reads are async ids
 * (whole numbers) and stops using a process's resources when they are not.
 */
#define ASYNC_WRAP_ASYNC_ID 0x28

/* The AsyncWrap an AsyncReset call is resetting, by pid_tgid. Written at
 * the call's entry, read and deleted at its return (node_reset*). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} node_resets SEC(".maps");

static __always_inline void emit_node_async(struct pt_regs *ctx, __u8 kind, __u64 async_id, const void *scope)
{
	struct sonde_node_async_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_header(&ev->hdr, SONDE_EV_NODE_ASYNC, bpf_ktime_get_ns());
	ev->async_id = async_id;
	ev->scope = (__u64)scope;
	ev->sp = PT_REGS_SP(ctx);
	ev->kind = kind;
	bpf_ringbuf_submit(ev, rb_flags());
}

/* The id of the AsyncWrap at `wrap`, as the bits of its double; 0 if unreadable. */
static __always_inline __u64 async_id_of(const void *wrap)
{
	__u64 id = 0;

	bpf_probe_read_user(&id, sizeof(id), wrap + ASYNC_WRAP_ASYNC_ID);
	return id;
}

SEC("uprobe")
int BPF_KPROBE(sonde_node_scope, void *self, void *env, void *object, const void *async_context)
{
	__u64 id = 0;

	if (!pid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* struct async_context { double async_id; double trigger_async_id; } */
	bpf_probe_read_user(&id, sizeof(id), async_context);
	emit_node_async(ctx, SONDE_NODE_SCOPE_ENTER, id, self);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(sonde_node_scope_wrap, void *self, const void *wrap)
{
	if (!pid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	emit_node_async(ctx, SONDE_NODE_SCOPE_ENTER, async_id_of(wrap), self);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(sonde_node_reset, void *self)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 wrap = (__u64)self;

	if (!pid_traced(id >> 32))
		return 0;
	bpf_map_update_elem(&node_resets, &id, &wrap, BPF_ANY);
	return 0;
}

/* The id is assigned inside the call: read once it returns. */
SEC("uretprobe")
int BPF_KRETPROBE(sonde_node_reset_ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *wrap = bpf_map_lookup_elem(&node_resets, &id);
	__u64 self;

	if (!wrap)
		return 0;
	self = *wrap;
	bpf_map_delete_elem(&node_resets, &id);
	emit_node_async(ctx, SONDE_NODE_RESOURCE, async_id_of((const void *)self), NULL);
	return 0;
}
