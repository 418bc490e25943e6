# syntax=docker/dockerfile:1.7
# The node firmware as an image for linux/amd64 and linux/arm64 (docker buildx bake, see
# docker-bake.hcl). The firmware is built once, on the build machine's platform: the bundle is
# JavaScript and the BPF objects are CO-RE, so both images carry the same files; only the Node.js
# under them differs (the node image of the target platform).

FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS build
WORKDIR /src
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends clang llvm libbpf-dev gcc-multilib make
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY . .
RUN npm run build:firmware

FROM node:20-bookworm-slim
# What the agent drives on a router: bpftool (XDP, tcp_health), ip, batctl (batman-adv).
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends bpftool iproute2 batctl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/dist/firmware /opt/x0-node
USER root
ENTRYPOINT ["node", "/opt/x0-node/x0-node.mjs"]
CMD ["--config", "/etc/x0/node.toml"]
