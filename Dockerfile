# syntax=docker/dockerfile:1
# memoryguard container image: a build stage with the toolchain, and a final
# stage with the stripped binary and its runtime shared libraries only.
#
#   docker build -t memoryguard .
#   podman build --format docker -t memoryguard .   # docker format keeps HEALTHCHECK
#
# Run it as uid 0 with every capability dropped but two:
#   --cap-drop=ALL --cap-add=KILL --cap-add=SYS_PTRACE
# KILL signals processes of other users; SYS_PTRACE reads their
# /proc/PID/smaps_rollup (PSS), which the kernel guards with a ptrace access
# check. It must be uid 0 rather than a non-root user with added capabilities:
# Kubernetes (and Docker) give a non-root process its added capabilities in the
# bounding set only, never the effective one, so the agent could neither
# measure nor kill.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
# Dependencies first, from the same script the README uses, so this layer is
# reused until the script itself changes.
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN ./deploy/install-deps.sh \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ccache \
 && rm -rf /var/lib/apt/lists/*
# Only what the agent's build reads: a change to tests, docs or deploy files
# does not rebuild the binary. (.dockerignore allow-lists the same paths.)
COPY CMakeLists.txt ./
COPY agent agent
ARG MEMORYGUARD_REVISION=unknown
# The optimization of the tested RelWithDebInfo build (-O2) without its -g,
# which would only slow the compile: the binary is stripped.
# ccache in a build-cache mount (kept by BuildKit and buildah between builds,
# never in a layer) recompiles only the files that changed since the last
# build on this machine.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
      -DBUILD_TESTING=OFF -DMEMORYGUARD_INSTALL_DATA=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      -DMEMORYGUARD_REVISION="${MEMORYGUARD_REVISION}" \
 && cmake --build /build -j"$(nproc)" \
 && { ccache --show-stats | grep -E 'Hits|Misses' || true; } \
 && cmake --install /build --strip --prefix /out

FROM ${DEBIAN_IMAGE}
# The runtime packages of exactly the libraries `ldd memoryguard` lists
# (libstdc++6, libgcc-s1, libc6 and libcrypt1 are already in the base image;
# libcrypt1 is named so that its absence would fail here, not at start).
# libssl3 is OpenSSL for TLS on the metrics port.
# apt's lists and caches (pkgcache.bin alone is ~40 MB) leave with the layer.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libprometheus-cpp-core1.0 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libre2-9 libcrypt1 libssl3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
COPY --from=build /out/bin/memoryguard /usr/bin/memoryguard
# The example config is dry-run: the bare image kills nothing until given a
# config of its own (mount one over this file).
COPY config/memoryguard.yaml /etc/memoryguard/memoryguard.yaml
# A missing library fails the build rather than the first start.
RUN ! ldd /usr/bin/memoryguard | grep 'not found' \
 && /usr/bin/memoryguard --version \
 && /usr/bin/memoryguard --check-config >/dev/null

# Labels last: the revision changes with every commit, and would otherwise
# invalidate the cached apt layer above.
ARG MEMORYGUARD_VERSION=0.1.0
ARG MEMORYGUARD_REVISION=unknown
LABEL org.opencontainers.image.title="memoryguard" \
      org.opencontainers.image.description="Watches the PSS of processes picked by rules, kills those over their limit, exports Prometheus metrics" \
      org.opencontainers.image.version="${MEMORYGUARD_VERSION}" \
      org.opencontainers.image.revision="${MEMORYGUARD_REVISION}" \
      org.opencontainers.image.source="https://github.com/memoryguard/memoryguard" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
EXPOSE 9756
USER 0:0
# The image has no curl or wget: bash (essential in every Debian image) speaks
# enough HTTP through /dev/tcp to read the status line of /healthz, so no HTTP
# client is added for the probe alone. It assumes the default :9756; a
# container that listens elsewhere overrides the health command.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9756 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 4 _ code _ <&3 && [ \"$code\" = 200 ]"]
ENTRYPOINT ["/usr/bin/memoryguard"]
