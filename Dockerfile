# syntax=docker/dockerfile:1
# ironlb: one image for `ironlb controller` and `ironlb speaker`.
#
#   docker build -t ghcr.io/ironlb/ironlb:0.1.0 .
#
# Stage "build" compiles the two N-API addons (native/afpacket, native/tcpsock) and the
# TypeScript; stage "deps" resolves production node_modules only; the runtime stage gets nothing
# else. Builder and runtime are both Debian 12 (bookworm), so the addons link against the same
# glibc (2.36) they run with.
#
# Capabilities (the pod spec grants them; the image grants nothing):
#   controller  none. Runs as 65534 (the image default below).
#   speaker     CAP_NET_RAW  : AF_PACKET sockets for ARP/NDP (native/afpacket). Required.
#               CAP_NET_ADMIN: only for the nftables table `inet ironlb_bfd` that enforces BFD's
#                              TTL 255 / minimumTtl (GTSM) check. Without it BFD still runs and the
#                              speaker logs that GTSM is not enforced. TCP_MD5SIG, IP_TTL, IP_MINTTL,
#                              IPv6 multicast joins and UDP 3784/4784/7946/7472 need no capability.
#               A process with a non-zero uid gets no capabilities from the pod spec (no ambient
#               capabilities), so the speaker container must run as uid 0: `runAsUser: 0`.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
# python3, make and g++ are what node-gyp needs (native/build.sh compiles against the headers in
# /usr/local/include/node, so nothing is downloaded at build time).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" (npm run build) needs the sources, copied next.
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY native ./native
COPY src ./src
COPY bench ./bench
RUN npm run build \
 && test -f native/afpacket/build/Release/afpacket.node \
 && test -f native/tcpsock/build/Release/tcpsock.node \
 && test -f dist/src/cli/main.js

FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# nft: the speaker's BFD TTL guard (see above). iproute2: the Kube-OVN underlay interface
# resolver runs `ip -j -d address show` (src/vlan/kernelInterfaces.ts). Nothing else is installed.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /ironlb
ENV NODE_ENV=production
COPY package.json ./
COPY bin ./bin
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/native/afpacket/build/Release/afpacket.node ./native/afpacket/build/Release/afpacket.node
COPY --from=build /src/native/tcpsock/build/Release/tcpsock.node ./native/tcpsock/build/Release/tcpsock.node
# 7472 metrics and health (both), 7946 TCP/UDP memberlist (speaker).
EXPOSE 7472 7946 7946/udp
# Non-root by default (the controller); the speaker's pod spec sets runAsUser: 0.
USER 65534:65534
ENTRYPOINT ["node", "/ironlb/bin/ironlb.js"]
CMD ["--help"]
