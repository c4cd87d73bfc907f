#!/bin/sh
# A queue worker stand-in for the example: "processes a job" every 2 s, finishes the current
# one on SIGTERM. sup stops a companion by signalling its whole process group, so the `sleep`
# dies of SIGTERM too; dash reports such a background job as "Terminated" on stderr while
# `wait` collects it, hence `wait ... 2>/dev/null` (the trap's own message still shows).
trap 'echo "worker: SIGTERM, finishing the current job"; exit 0' TERM
n=0
while :; do
  n=$((n + 1))
  echo "worker: job $n done"
  sleep 2 & wait $! 2>/dev/null
done
