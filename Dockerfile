# Sonde: eBPF auto-instrumentation, as a container image.
#   docker build -t sonde .
#   docker run --rm --pid=host --cap-add BPF --cap-add PERFMON --cap-add SYS_PTRACE --cap-add DAC_READ_SEARCH \
#     --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     -v /sys/kernel/btf:/sys/kernel/btf:ro -v /sys/kernel/tracing:/sys/kernel/tracing \
#     -v /sys/fs/bpf:/sys/fs/bpf -v /sys/fs/cgroup:/sys/fs/cgroup:ro sonde
# README "Deploying" lists each privilege and why. The build steps are
# scripts/docker/*.sh, which scripts/docker/check.sh also runs without Docker.

# Build: clang for the BPF objects (CO-RE: one build runs on every kernel with BTF), tsc for the rest.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY bpf/ bpf/
COPY collector/ collector/
COPY protocols/ protocols/
COPY config/ config/
RUN bash scripts/docker/build.sh

# Runtime: Node.js, libbpf, the built objects and production packages; no compiler.
FROM node:20-bookworm-slim
COPY scripts/docker/runtime.sh /tmp/runtime.sh
RUN bash /tmp/runtime.sh && rm /tmp/runtime.sh
WORKDIR /opt/sonde
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY sonde ./
# Root inside the container, with only the capabilities granted at run time.
ENTRYPOINT ["/opt/sonde/sonde"]
CMD ["run"]
