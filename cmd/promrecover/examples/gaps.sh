  # The holes in the blocks of a Docker volume (Prometheus may keep running).
  promrecover gaps --data /var/lib/docker/volumes/x_prometheus-storage/_data --from now-12h --to now-3h

  # Through a running Prometheus, head block included, one job, holes of 5m or more.
  promrecover gaps --prometheus-url http://localhost:9090 --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --min-gap 5m

  # The holes in the blocks of one stream in the bucket a Thanos serves (read-only).
  promrecover gaps --objstore.config-file bucket.yml --external-label cluster=eu1 \
      --from 2025-08-03T02:00:00Z --to 2025-08-03T08:30:00Z
