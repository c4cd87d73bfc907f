#!/bin/sh
# A queue worker stand-in for the example: "processes a job" every 2 s, finishes the current
# one on SIGTERM.
trap 'echo "worker: SIGTERM, finishing the current job"; exit 0' TERM
n=0
while :; do
  n=$((n + 1))
  echo "worker: job $n done"
  sleep 2 & wait $!
done
