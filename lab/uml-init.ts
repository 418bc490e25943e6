/**
 * A UML guest's init (PID 1), as a shell script on the host's read-only root. Its settings arrive
 * as environment variables: the kernel hands unknown KEY=value parameters to init.
 *
 * - batman-adv's primary interface is a dummy (as Freifunk routers do it): the node's originator
 *   address never changes when a link interface leaves the mesh and rejoins it.
 * - The agent runs under a loop that restarts it, as a router's service manager would.
 * - A script the host leaves in /mnt/do.sh (batctl's tables, tc netem for a degraded link) is run
 *   within 200 ms, its exit code written to /mnt/do.rc. The loop starts no process while it waits
 *   (bash's read -t on a FIFO nobody writes): in UML a process start costs about 100 ms of a host
 *   core, and the agents need those.
 */
export const GUEST_INIT = `#!/bin/bash
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
# Writable scratch space for the guest; not /tmp, where the lab's folder may be on the host.
mount -t tmpfs tmpfs /run
export TMPDIR=/run
mount -t hostfs -o "$X0_OUT" none /mnt
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
fail() { echo "$1" > /mnt/error; halt -f; }
for module in batman-adv dummy sch_netem; do
  modprobe -d "$X0_MODULES" "$module" || fail "modprobe $module failed"
done
ip link set lo up
ip link add x0primary address "$X0_PRIMARY" type dummy && ip link set x0primary up || fail "dummy primary failed"
batctl meshif bat0 interface add x0primary || fail "batctl interface add x0primary failed"
for i in $(echo "$X0_LINKS" | tr , " "); do
  ip link set "eth$i" up && batctl meshif bat0 interface add "eth$i" || fail "eth$i did not join bat0"
done
batctl meshif bat0 bridge_loop_avoidance 0
batctl meshif bat0 orig_interval "$X0_OGM_MS"
ip link set bat0 up
[ -n "$X0_BAT_IP" ] && ip addr add "$X0_BAT_IP" dev bat0
if [ -n "$X0_UPLINK_IF" ]; then
  ip link set "$X0_UPLINK_IF" up && ip addr add "$X0_UPLINK_IP" dev "$X0_UPLINK_IF" || fail "uplink failed"
  echo 1 > /proc/sys/net/ipv4/ip_forward
fi
[ -n "$X0_VIA" ] && ip route add default via "$X0_VIA"
echo up > /mnt/state
if [ -f /mnt/agent.json ]; then
  (
    while true; do
      HOME=/mnt "$X0_NODE" --max-semi-space-size=1 "$X0_AGENT" --config /mnt/agent.json >> /mnt/agent.log 2>&1
      echo "[init] the agent exited ($?); restarting it in 1 s" >> /mnt/agent.log
      sleep 1
    done
  ) &
fi
mkfifo /run/never && exec 9<> /run/never
while true; do
  if [ -f /mnt/do.sh ]; then
    sh /mnt/do.sh > /mnt/do.out 2>&1
    echo $? > /mnt/do.rc.tmp
    rm -f /mnt/do.sh
    mv /mnt/do.rc.tmp /mnt/do.rc
  fi
  read -r -t 0.2 -u 9
done
`;
