/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event ABI between the kernel programs and userspace.
 *
 * Every struct here is mirrored field by field in collector/ebpf/abi.ts;
 * test/unit/abi.test.ts compares both against the BTF of the compiled
 * objects, so change them together.
 */
#ifndef __SONDE_H
#define __SONDE_H

/* Largest number of payload bytes one data record can carry. */
#define SONDE_MAX_CAPTURE 16384
/* Most data records one send or receive becomes (one per iovec, or per
 * capture-size window on a connection copied whole); the rest of the call
 * goes out as one length-only record. */
#define SONDE_MAX_RECORDS 64
/* How much of an exec'd image's file name and environment its record carries. */
#define SONDE_EXEC_FILENAME_MAX 256
#define SONDE_EXEC_ENV_MAX 16384

enum sonde_event_type {
	SONDE_EV_DATA = 1,       /* bytes moved on a TCP socket */
	SONDE_EV_CONN_OPEN = 2,  /* a socket of a traced process, first seen: tuple and role */
	SONDE_EV_CONN_STATE = 3, /* a known socket left ESTABLISHED */
	SONDE_EV_PROC_EXEC = 4,  /* a process replaced its image */
	SONDE_EV_PROC_EXIT = 5,  /* a traced process exited */
	SONDE_EV_PROC_PORT = 6,  /* a process listened or connected on a selected port */
	SONDE_EV_TLS_BIND = 7,   /* a TLS session was tied to the socket under it */
	SONDE_EV_PROC_LIBS = 8,  /* a traced process loaded or unloaded a library (ld.so) */
	SONDE_EV_INJECT = 9,     /* a traceparent was written into a request being sent (inject.bpf.c) */
	SONDE_EV_NODE_ASYNC = 10,/* the Node.js runtime entered or left a callback, or made an async resource (node.bpf.c) */
};

/* Direction of a data record, from the traced process's point of view. */
enum sonde_direction {
	SONDE_DIR_EGRESS = 0,  /* the process sent the bytes */
	SONDE_DIR_INGRESS = 1, /* the process received the bytes */
};

enum sonde_role {
	SONDE_ROLE_UNKNOWN = 0, /* not seen connecting: accepted, or opened before Sonde */
	SONDE_ROLE_CLIENT = 1,  /* the process connected it (SYN_SENT seen) */
	SONDE_ROLE_SERVER = 2,  /* learnt by userspace from the bytes; the kernel never says it */
	SONDE_ROLE_SELF = 3,    /* Sonde's own connect(): its peer must not be traced */
};

/* Which probe produced a data record. */
enum sonde_source {
	SONDE_SRC_SYSCALL = 0, /* syscall tracepoints (older kernels) */
	SONDE_SRC_KPROBE = 1,  /* kprobes / fentry on tcp_sendmsg and tcp_recvmsg */
	SONDE_SRC_SOCKET = 2,  /* sock:sock_{send,recv}_length raw tracepoints */
	SONDE_SRC_TLS = 3,     /* uprobes on a TLS library: plaintext */
};

enum sonde_data_flags {
	SONDE_DATA_EOF = 1,         /* a read returned 0: the peer closed its side */
	SONDE_DATA_READ_FAILED = 2, /* copying the payload failed; only the length is true */
};

/* Verdict of the in-kernel process filter (map proc_verdict). */
enum sonde_verdict {
	SONDE_VERDICT_IGNORE = 0,
	SONDE_VERDICT_TRACE = 1,
	SONDE_VERDICT_PENDING = 2, /* exec'd while a selector is active; userspace decides */
};

/* Fields of struct sonde_counters (map `counters`, one per CPU). */
enum sonde_counter {
	SONDE_CNT_DROP_DATA = 0,    /* data record lost: ring buffer full */
	SONDE_CNT_DROP_CONTROL = 1, /* open/state/exec/exit record lost: ring buffer full */
	SONDE_CNT_DROP_INFLIGHT = 2,/* syscall not tracked: in-flight map full */
	SONDE_CNT_DATA_RECORDS = 3, /* data records written */
	SONDE_CNT_DATA_BYTES = 4,   /* payload bytes seen (true lengths) */
	SONDE_CNT_CAPTURED_BYTES = 5,/* payload bytes copied */
	SONDE_CNT_IGNORED_CONN = 6, /* data records skipped: connection ignored by userspace */
	SONDE_CNT_TLS_CIPHERTEXT = 7,/* socket records not sent: TLS ciphertext, its plaintext comes from uprobes */
	/* Context propagation (inject.bpf.c, loaded only when enabled): */
	SONDE_CNT_INJECTED = 8,     /* requests given a traceparent */
	SONDE_CNT_INJECT_PRESENT = 9,/* traced requests that already carried one: left alone */
	SONDE_CNT_INJECT_SKIPPED = 10,/* traced sends not injected: not an HTTP/1 request head whole in one send */
	SONDE_CNT_INJECT_FAILED = 11,/* injection attempted and undone (pull/push refused, ring buffer full) */
	SONDE_CNT_INJECT_UNTRACKED = 12,/* client sockets not added to the sockhash (full, or refused) */
	SONDE_CNT_MAX = 13,
};

struct sonde_counters {
	__u64 n[SONDE_CNT_MAX];
};

/* Load-time settings, in .rodata (`sonde_cfg`), written by userspace before load. */
struct sonde_config {
	__u32 capture_size;    /* payload bytes copied per record, <= SONDE_MAX_CAPTURE */
	__u32 self_pid;        /* Sonde's own tgid: never traced */
	__u32 wakeup_bytes;    /* wake userspace when this much data waits */
	__u8 default_verdict;  /* verdict of processes absent from proc_verdict */
	__u8 pad[3];
};

/* Connection identity: local and remote endpoint, network byte order addresses. */
struct sonde_tuple {
	__u8 saddr[16]; /* local; IPv4 in the first 4 bytes when family is AF_INET */
	__u8 daddr[16]; /* remote */
	__u16 sport;    /* local port, host byte order */
	__u16 dport;    /* remote port, host byte order */
	__u16 family;   /* AF_INET or AF_INET6 */
	__u16 pad;
};

struct sonde_event_header {
	__u64 ts;      /* bpf_ktime_get_ns() when the event happened (see each type) */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u8 type;     /* enum sonde_event_type */
	__u8 pad[7];
};

/*
 * SONDE_EV_DATA, followed by `captured` payload bytes. `len` is the true
 * length moved by the call; the captured bytes start `offset` bytes into
 * it (the bytes before were body userspace said it would skip: see
 * sonde_conn_info), and parsers skip whatever was not copied. `seq` is the
 * TCP sequence number of the chunk's first byte (from write_seq and
 * copied_seq), so bytes moved where no probe looks, or records lost,
 * show as holes. header.ts is when the bytes entered the call (sends,
 * where known) or left it; ts_end is when the call returned. The
 * connection's addresses came once, in its SONDE_EV_CONN_OPEN.
 *
 * TLS records (source SONDE_SRC_TLS) carry plaintext from SSL_write /
 * SSL_read and the like: `tls` is the library's session pointer, `seq` the
 * position in that session's plaintext stream, and `sock` the socket under
 * it, or 0 when it is not known yet (a SONDE_EV_TLS_BIND follows then).
 */
struct sonde_data_event {
	struct sonde_event_header hdr;
	__u64 sock;    /* struct sock address: the connection id while it lives */
	__u64 ts_end;
	__u32 seq;
	__u32 len;
	__u32 captured;
	__u32 offset;
	__u8 direction;/* enum sonde_direction */
	__u8 role;     /* enum sonde_role, as the kernel knows it */
	__u8 source;   /* enum sonde_source */
	__u8 flags;    /* enum sonde_data_flags */
	__u32 user_sp; /* low 32 bits of the thread's user stack pointer in the call (0: unknown); see SONDE_EV_NODE_ASYNC */
	__u64 tls;     /* TLS records: the session (SSL *, gnutls_session_t); else 0 */
	__u8 data[SONDE_MAX_CAPTURE];
};

/* SONDE_EV_TLS_BIND: session `tls` of process hdr.pid runs over socket `sock`. */
struct sonde_tls_bind_event {
	struct sonde_event_header hdr;
	__u64 sock;
	__u64 tls;
};

/* SONDE_EV_CONN_OPEN */
struct sonde_conn_event {
	struct sonde_event_header hdr;
	__u64 sock;
	struct sonde_tuple tuple;
	__u8 role;
	__u8 pad[7];
};

/* SONDE_EV_CONN_STATE: emitted for sockets the kernel already knows (map conns). */
struct sonde_state_event {
	struct sonde_event_header hdr;
	__u64 sock;
	__s32 old_state;
	__s32 new_state;
};

/* SONDE_EV_PROC_EXEC, SONDE_EV_PROC_EXIT and SONDE_EV_PROC_PORT */
struct sonde_proc_event {
	struct sonde_event_header hdr;
	__u32 ppid;
	__u8 verdict;  /* verdict after the event, as the kernel set it */
	__u8 pad;
	__u16 port;    /* SONDE_EV_PROC_PORT: the selected local port */
	char comm[16];
};

/*
 * SONDE_EV_PROC_EXEC: a process event, then what userspace needs to judge
 * and name a process that may be gone before /proc can be read: the file
 * name given to execve, and the first env_len bytes of its environment
 * (NUL-separated, as in /proc/PID/environ). The record ends after env_len
 * bytes of env. Userspace keeps only the OTEL_ variables it names
 * services by, and drops the rest on decoding.
 */
struct sonde_exec_event {
	struct sonde_proc_event proc;
	__u16 filename_len;
	__u16 pad;
	__u32 env_len;
	char filename[SONDE_EXEC_FILENAME_MAX];
	char env[SONDE_EXEC_ENV_MAX];
};

/* Per-socket state in the kernel (map conns). The kernel writes role,
 * announced and tls, and whole when a connection opens with the HTTP/2
 * preface; userspace rewrites the whole entry to set ignored, or
 * a skip: in direction d, the bytes before sequence number skip_seq[d]
 * are body the parser will only count, so copying starts at the next
 * message. On a TLS connection the skip and tls_ignored apply to the
 * plaintext records, and `ignored` to the socket's own (ciphertext). */
struct sonde_conn_info {
	__u8 role;
	__u8 ignored;      /* stop copying this socket's bytes */
	__u8 announced;    /* its SONDE_EV_CONN_OPEN went out */
	__u8 skipping[2];  /* skip_seq[d] is set */
	__u8 tls;          /* a TLS session runs over it: its bytes are ciphertext */
	__u8 tls_ignored;  /* stop copying its plaintext too */
	__u8 whole;        /* copy long calls whole, in capture-size records (HTTP/2: one call carries frames of many streams) */
	__u32 skip_seq[2];
};

/* Length of the header inject.bpf.c writes:
 * "traceparent: 00-<32 hex>-<16 hex>-01\r\n". */
#define SONDE_TRACEPARENT_LEN 70

/*
 * SONDE_EV_INJECT: the process hdr.pid sent a request into which the
 * kernel wrote SONDE_TRACEPARENT_LEN bytes (`len`) of
 * "traceparent: 00-<trace_id>-<span_id>-01\r\n" at byte `at` of the send
 * (right after the request line). Written inside the send, so it comes
 * before that send's data records; those carry the bytes the process
 * wrote, without the header, while the TCP stream (and its sequence
 * numbers) holds them. `tuple` names the connection (as the socket's
 * SONDE_EV_CONN_OPEN did).
 */
struct sonde_inject_event {
	struct sonde_event_header hdr;
	struct sonde_tuple tuple;
	__u8 trace_id[16];
	__u8 span_id[8];
	__u32 at;      /* offset of the inserted bytes in the send */
	__u32 len;     /* bytes inserted */
	__u32 msg_size;/* bytes the process sent (the message before insertion) */
	__u32 pad;
};

/* What a SONDE_EV_NODE_ASYNC reports. */
enum sonde_node_async_kind {
	SONDE_NODE_SCOPE_ENTER = 0, /* native code calls into JS for resource async_id (InternalCallbackScope) */
	SONDE_NODE_RESOURCE = 1,    /* a native async resource got the id async_id (AsyncWrap::AsyncReset) */
};
/*
 * SONDE_EV_NODE_ASYNC: thread hdr.tid of the Node.js process hdr.pid.
 * Async ids are doubles in Node.js; `async_id` carries the double's 64
 * bits unchanged (BPF has no floating point). `scope` is the
 * InternalCallbackScope object's address: on the stack, in the frame that
 * opened the scope, which is open while the thread runs below it (data
 * records carry their call's stack pointer); `sp` is the user stack
 * pointer at the probe.
 */
struct sonde_node_async_event {
	struct sonde_event_header hdr;
	__u64 async_id;
	__u64 scope;   /* SCOPE_ENTER only */
	__u64 sp;
	__u8 kind;     /* enum sonde_node_async_kind */
	__u8 pad[7];
};
#endif /* __SONDE_H */
