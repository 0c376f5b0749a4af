  # Once per shell: credentials from the environment, typed at a prompt,
  # stay out of the shell history and the process list.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  export GRAFANA_URL=https://example.grafana.net

  # What would be fetched, and what it costs; writes nothing.
  promrecover recover --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --out /var/lib/prometheus --dry-run

  # Recover it into the data directory of a Docker volume, with a report for scripts.
  promrecover recover --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --summary-json recover.json \
      --out "$(docker volume inspect x_prometheus-storage --format '{{ .Mountpoint }}')"

  # Only into the holes of what Prometheus kept, dropping the label remote_write added.
  promrecover recover --datasource grafanacloud-prom --from now-12h --to now-3h \
      --out /var/lib/prometheus --only-gaps --drop-label cluster

  # With the grafana_session cookie of a logged-in browser instead of a token.
  unset GRAFANA_TOKEN; read -rsp 'grafana_session: ' GRAFANA_SESSION && export GRAFANA_SESSION
  promrecover recover --datasource grafanacloud-prom --from now-6h --to now-3h --out ./data

  # Into the S3 bucket a Thanos serves, as the blocks of the stream cluster=eu1, replica=a.
  promrecover recover --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --objstore.config-file bucket.yml \
      --external-label cluster=eu1 --external-label replica=a
