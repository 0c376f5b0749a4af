  # Once per shell: credentials from the environment, typed at a prompt,
  # stay out of the shell history and the process list.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  export GRAFANA_URL=https://example.grafana.net

  # Prometheus's own range JSON of one metric.
  promrecover export --datasource grafanacloud-prom --from now-6h --to now-3h \
      --match up --out up.json

  # OpenMetrics text, to install elsewhere with 'promrecover import' or promtool.
  promrecover export --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --format openmetrics --out lost.om

  # Straight into another machine's data directory.
  promrecover export --datasource grafanacloud-prom --from now-6h --to now-3h --format jsonl -o - |
      ssh prom-host promrecover import - --out /var/lib/prometheus
