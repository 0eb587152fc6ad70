// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Defines the shared maps and settings that every other object declares extern. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define SONDE_MAP
#define SONDE_DEFINE_CONFIG
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
