#!/bin/sh
# bench-fanout-sink.sh — bench-fanout sending out of a veth interface in a namespace of its own
# (root), to a neighbour that does not exist: the kernel's whole UDP/IP transmit path runs, as
# towards a NIC, and the far end drops the frames at once (not addressed to it), so no receiver on
# this machine is woken and the figure is the relay's own CPU per forwarded packet.
# Usage: bench/relay/bench-fanout-sink.sh [build dir] [bench-fanout options]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
ns=kmg-bench-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT INT TERM
ip -n "$ns" link set lo up
ip -n "$ns" link add kmgsink0 type veth peer name kmgsink1
ip -n "$ns" addr add 10.77.0.1/24 dev kmgsink0
ip -n "$ns" link set kmgsink0 up
ip -n "$ns" link set kmgsink1 up
ip -n "$ns" neigh add 10.77.0.2 lladdr 02:00:00:00:77:02 dev kmgsink0
ip netns exec "$ns" "$build/bench/relay/bench-fanout" --sink 10.77.0.2 "$@"
