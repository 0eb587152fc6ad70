// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tracepoint capture mode on kernels without sock:sock_{send,recv}_length
 * (before 5.19; socket.bpf.c is the path from there on): the bytes of
 * read/write-family syscalls on TCP sockets. The entry saves the user
 * buffer; the exit, knowing how many bytes moved, finds the socket behind
 * the fd in the task's file table (sock_from_fd) and copies them out.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "io.bpf.h"

#define MSG_PEEK 2

static __always_inline int enter_io(__u8 op, __u32 fd, __u64 buf, __u32 iovcnt)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_inflight in = {};

	if (!pid_traced(id >> 32))
		return 0;
	in.ts = bpf_ktime_get_ns();
	in.buf = buf;
	in.fd = fd;
	in.iovcnt = iovcnt;
	in.op = op;
	if (bpf_map_update_elem(&inflight, &id, &in, BPF_ANY))
		count(SONDE_CNT_DROP_INFLIGHT, 1);
	return 0;
}

/* sendmsg/recvmsg: the iovec array sits behind a user msghdr. */
static __always_inline int enter_msg(__u8 op, __u32 fd, const struct user_msghdr *umsg)
{
	struct user_msghdr msg;

	if (!pid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (bpf_probe_read_user(&msg, sizeof(msg), umsg))
		return 0;
	return enter_io(op, fd, (__u64)msg.msg_iov, msg.msg_iovlen);
}

static __always_inline int exit_io(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_inflight *in = bpf_map_lookup_elem(&inflight, &id);
	struct sonde_inflight call;
	struct io_call io = {};
	struct sock *sk;

	if (!in)
		return 0;
	call = *in;
	bpf_map_delete_elem(&inflight, &id);
	if (call.op != SONDE_OP_SEND && call.op != SONDE_OP_RECV && call.op != SONDE_OP_SENDFILE)
		return 0;
	if (ret < 0 || (ret == 0 && call.op != SONDE_OP_RECV))
		return 0;
	sk = sock_from_fd(call.fd);
	if (!sk)
		return 0;
	io.sk = sk;
	io.is_send = call.op != SONDE_OP_RECV;
	io.ts_enter = call.ts;
	io.ret = ret;
	io.seq_end = stream_end(sk, io.is_send);
	io.source = SONDE_SRC_SYSCALL;
	if (call.op != SONDE_OP_SENDFILE) { /* sendfile: page cache to socket, no user bytes */
		io.buf = (const void *)call.buf;
		io.iovcnt = call.iovcnt;
	}
	emit_io(&io);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int sonde_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return enter_io(SONDE_OP_SEND, ctx->args[0], ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int sonde_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return enter_io(SONDE_OP_SEND, ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int sonde_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return enter_io(SONDE_OP_SEND, ctx->args[0], ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sonde_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter_msg(SONDE_OP_SEND, ctx->args[0], (const struct user_msghdr *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_sendfile64")
int sonde_enter_sendfile64(struct trace_event_raw_sys_enter *ctx)
{
	return enter_io(SONDE_OP_SENDFILE, ctx->args[0], 0, 0);
}

SEC("tracepoint/syscalls/sys_enter_read")
int sonde_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return enter_io(SONDE_OP_RECV, ctx->args[0], ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int sonde_enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return enter_io(SONDE_OP_RECV, ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int sonde_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[3] & MSG_PEEK) /* the bytes will be read again */
		return 0;
	return enter_io(SONDE_OP_RECV, ctx->args[0], ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int sonde_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[2] & MSG_PEEK)
		return 0;
	return enter_msg(SONDE_OP_RECV, ctx->args[0], (const struct user_msghdr *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_write")
int sonde_exit_write(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_writev")
int sonde_exit_writev(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_sendto")
int sonde_exit_sendto(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int sonde_exit_sendmsg(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int sonde_exit_sendfile64(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_read")
int sonde_exit_read(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_readv")
int sonde_exit_readv(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int sonde_exit_recvfrom(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int sonde_exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return exit_io(ctx->ret); }
