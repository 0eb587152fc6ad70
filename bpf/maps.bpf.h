/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps shared by every program. maps.bpf.c defines them (SONDE_MAP empty);
 * every other .bpf.c sees them as extern, and the BPF static linker
 * (bpftool gen object) resolves them into one object per capture mode.
 */
#ifndef __SONDE_MAPS_BPF_H
#define __SONDE_MAPS_BPF_H

#include "sonde.h"

#ifndef SONDE_MAP
#define SONDE_MAP extern
#endif

/* Load-time settings. Written by userspace before load, read by every program. */
#ifdef SONDE_DEFINE_CONFIG
const volatile struct sonde_config sonde_cfg = {};
#else
extern const volatile struct sonde_config sonde_cfg;
#endif

/* Records to userspace. Written by every program, drained in batches by
 * collector/ebpf/RingBufferReader.ts. Size set by userspace before load. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Counters (struct sonde_counters), one per CPU, in a single slot so a
 * program run looks them up once. Written by every program, read and
 * summed by userspace (KernelCapture.counters). */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_counters);
} counters SEC(".maps");

/* The process filter: tgid -> enum sonde_verdict. Written by userspace
 * (discovery) and by proc.bpf.c (fork inheritance, exec, exit); read by
 * every data program before any other work. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} proc_verdict SEC(".maps");

/* Ports that select processes (--open-port): local port -> 1. Written by
 * userspace before attaching; read by the state tracepoint when a process
 * listens or connects, which then traces that process at once. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} open_ports SEC(".maps");

/* Sockets seen by traced processes: struct sock address -> sonde_conn_info.
 * Written by conn.bpf.c (client role, on connect) and the data paths (first
 * sight), and by userspace (ignored, skips); read by the data paths and by
 * the state tracepoint, which deletes them on close. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sonde_conn_info);
} conns SEC(".maps");

enum sonde_io_op {
	SONDE_OP_SEND = 1,
	SONDE_OP_RECV = 2,
	SONDE_OP_SENDFILE = 3,
};

/* One syscall (or tcp_sendmsg/tcp_recvmsg call) between its entry and exit. */
struct sonde_inflight {
	__u64 ts;      /* entry time */
	__u64 buf;     /* user buffer, or user iovec array when iovcnt > 0 */
	__u64 sk;      /* struct sock, once known */
	__u32 fd;
	__u32 iovcnt;
	__u8 op;       /* enum sonde_io_op */
	__u8 pad[7];
};

/* Calls in flight, by pid_tgid. Written at entry, read and deleted at exit
 * by syscalls.bpf.c and the tcp_* probes. LRU so threads killed mid-call
 * cannot leak entries. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sonde_inflight);
} inflight SEC(".maps");

/*
 * A thread's dealings with a TLS library, for tying sessions to sockets.
 * `ssl` is set from a TLS call's entry to its return: socket I/O in
 * between is that session's ciphertext (OpenSSL and GnuTLS over a socket).
 * Node.js runs OpenSSL over memory buffers instead, so the socket I/O
 * comes after SSL_write (`pending`: the next TLS-looking send on this
 * thread) and before SSL_read (`last_recv`, while `recv_fresh`).
 */
struct sonde_tls_thread {
	__u64 ssl;        /* session of the call in progress, 0 between calls */
	__u64 buf;        /* its plaintext buffer */
	__u64 len_ptr;    /* SSL_*_ex: where the byte count is written */
	__u64 ts;         /* entry time */
	__u64 pending;    /* session written but not yet tied to a socket */
	__u64 last_recv;  /* struct sock this thread last read from */
	__u8 op;          /* enum sonde_tls_op */
	__u8 recv_fresh;  /* last_recv came after the last TLS call returned */
	__u8 pad[6];
};

enum sonde_tls_op {
	SONDE_TLS_SEND = 1,
	SONDE_TLS_RECV = 2,
};

/* Threads that called a TLS library, by pid_tgid. Written by tls.bpf.c
 * (call entry and return) and by the data paths (last_recv, pending), read
 * by both. LRU: threads that exit are forgotten on their own. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct sonde_tls_thread);
} tls_threads SEC(".maps");

/* A TLS session of one process: the pointer is only unique within it. */
struct sonde_tls_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct sonde_tls_session {
	__u64 sk;         /* struct sock under it, 0 until known */
	__u32 seq[2];     /* plaintext stream position, by direction */
};

/* TLS sessions of traced processes. Written by tls.bpf.c (created on the
 * first call, positions advanced on each) and the data paths (sk, when
 * tied); deleted by userspace when the process exits; LRU bounds the rest. */
SONDE_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sonde_tls_key);
	__type(value, struct sonde_tls_session);
} tls_sessions SEC(".maps");

#endif /* __SONDE_MAPS_BPF_H */
