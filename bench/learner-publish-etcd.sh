#!/usr/bin/env bash
# The learner publish stall with plain etcd and etcdctl only (no boot), one variable at a time.
# 3 members on 127.21.0.1-3; WARM_S seconds of 300 puts/s (> 5000 raft entries, so that a new member
# needs a snapshot whose index is > 5000); then ITER times: add a learner at 127.21.0.4, start it empty
# with --initial-cluster-state=existing, and either
#   MODE=health   wait for its /health first, then promote (what boot did), or
#   MODE=promote  poll `member promote` through the voters at once (what the baseline does),
# for at most LIMIT_S; then stop the learner, remove it, next. LOAD=1 keeps the writes going during the
# joins, LOAD=0 (default) stops them first (an idle cluster, as in `make bench` after the first heal).
# For a learner not healthy within LIMIT_S it records whether the cluster already shows its name
# (its publish was committed but never reached it) and then NUDGE=1 (default) writes one key and
# times how long until the learner is healthy.
# Run from the project root: bench/learner-publish-etcd.sh   (bounded: ITER x (LIMIT_S + 15) s)
# Measured 2026-11-30, etcd v3.6.16, raft index ~7500: MODE=health LOAD=0 stalled 3 of 9 joins (each
# ~1.1M "too many requests" in 12 s; the cluster already showed the learner's name; one put made it
# healthy in ~35 ms); MODE=promote LOAD=0 0 of 8 (3 lost their first publish: healthy at 7.05 s);
# MODE=health LOAD=1 0 of 8 (2 lost it: healthy at 7.04 s).
set -u
B=$(build/tools/install.sh dir etcd-3.6); E=$B/etcd; C=$B/etcdctl
W=$(mktemp -d /tmp/learner-publish-XXXXXX)
MODE=${MODE:-health}; LOAD=${LOAD:-0}; ITER=${ITER:-10}; LIMIT_S=${LIMIT_S:-15}; WARM_S=${WARM_S:-25}; NUDGE=${NUDGE:-1}
ip() { echo 127.21.0.$1; }
ic="m1=http://$(ip 1):2380,m2=http://$(ip 2):2380,m3=http://$(ip 3):2380"
eps=http://$(ip 1):2379,http://$(ip 2):2379,http://$(ip 3):2379
pids=()
for i in 1 2 3; do
  $E --name m$i --data-dir $W/m$i --listen-client-urls http://$(ip $i):2379 --advertise-client-urls http://$(ip $i):2379 \
    --listen-peer-urls http://$(ip $i):2380 --initial-advertise-peer-urls http://$(ip $i):2380 --initial-cluster $ic \
    --initial-cluster-state new > $W/m$i.log 2>&1 & pids+=($!)
done
# etcd repeats "failed to publish" in a tight loop (~100k lines/s) while publish is refused: keep the
# first 3 of those lines and count the rest (COUNT lines at the end of the log).
squeeze() { awk '/failed to publish/ { n++; if ($0 ~ /too many requests/) t++; if (n <= 3) print; next } { print; fflush() } END { print "COUNT publish_failures=" n+0 " too_many=" t+0 }'; }
count() { for a in $(seq 1 20); do grep -q '^COUNT' "$1" 2>/dev/null && break; sleep 0.1; done; grep '^COUNT' "$1" | sed 's/^COUNT //'; }
cleanup() { kill ${wpid:-} ${p4:-} "${pids[@]}" 2>/dev/null; sleep 1; kill -9 ${p4:-} "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
sleep 3
writer_secs=$WARM_S; [[ $LOAD == 1 ]] && writer_secs=$((WARM_S + ITER * (LIMIT_S + 15)))
node_modules/.bin/node /work/shared/tools/learner-join-baseline/writer.mjs "$eps" 300 "$writer_secs" > $W/writer.out 2> $W/writer.err & wpid=$!
sleep $WARM_S
[[ $LOAD == 0 ]] && { wait $wpid; wpid=; }
rev=$($C --endpoints $eps endpoint status -w json | python3 -c 'import json,sys; print(max(x["Status"]["raftIndex"] for x in json.load(sys.stdin)))')
echo "mode=$MODE load=$LOAD raft_index=$rev logs=$W"
stalls=0
for it in $(seq 1 $ITER); do
  name=l$it
  out=
  t_add=$(date +%s.%N)
  for a in $(seq 1 80); do out=$($C --endpoints $eps member add $name --learner --peer-urls http://$(ip 4):2380 2>&1) && break; sleep 0.25; done
  t_add=$(echo "$(date +%s.%N) - $t_add" | bc)
  lid=$(echo "$out" | awk '/^Member/{print $2}')
  ic2=$(echo "$out" | grep ETCD_INITIAL_CLUSTER= | sed 's/ETCD_INITIAL_CLUSTER=//; s/"//g')
  rm -rf $W/m4
  $E --name $name --data-dir $W/m4 --listen-client-urls http://$(ip 4):2379 --advertise-client-urls http://$(ip 4):2379 \
    --listen-peer-urls http://$(ip 4):2380 --initial-advertise-peer-urls http://$(ip 4):2380 --initial-cluster "$ic2" \
    --initial-cluster-state existing > >(squeeze > $W/$name.log) 2>&1 & p4=$!
  ts=$(date +%s.%N); healthy=; promoted=
  for a in $(seq 1 $((LIMIT_S * 10))); do
    if [[ $MODE == promote && -z $promoted ]]; then
      $C --endpoints $eps member promote $lid >/dev/null 2>&1 && promoted=$(echo "$(date +%s.%N) - $ts" | bc)
    fi
    if curl -sf -m 1 http://$(ip 4):2379/health | grep -q '"health":"true"'; then healthy=$(echo "$(date +%s.%N) - $ts" | bc); break; fi
    sleep 0.1
  done
  published=; nudged=
  if [[ -z $healthy ]]; then
    stalls=$((stalls + 1))
    published=$($C --endpoints $eps member list -w json | python3 -c "import json,sys; print([m.get('name','') for m in json.load(sys.stdin)['members'] if '%x' % m['ID'] == '$lid'])")
    if [[ $NUDGE == 1 ]]; then
      t1=$(date +%s.%N); $C --endpoints $eps put nudge x >/dev/null
      for a in $(seq 1 100); do
        if curl -sf -m 1 http://$(ip 4):2379/health | grep -q '"health":"true"'; then nudged=$(echo "$(date +%s.%N) - $t1" | bc); break; fi
        sleep 0.1
      done
    fi
  fi
  kill -9 $p4 2>/dev/null; wait $p4 2>/dev/null; p4=
  echo "iter=$it add_took=${t_add}s healthy_after=${healthy:-none}s promoted_after=${promoted:--}s $(count $W/$name.log) cluster_name_of_learner=${published:--} healthy_after_one_put=${nudged:--}s"
  $C --endpoints $eps member remove $lid >/dev/null
done
echo "summary mode=$MODE load=$LOAD iterations=$ITER stalled=$stalls"
