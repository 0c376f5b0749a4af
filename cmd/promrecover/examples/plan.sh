  # Once per shell: credentials from the environment, typed at a prompt,
  # stay out of the shell history and the process list.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  export GRAFANA_URL=https://example.grafana.net

  # Windows, series per metric and estimates; writes nothing.
  promrecover plan --datasource grafanacloud-prom --from 2025-08-03T02:00:00Z \
      --to 2025-08-03T08:30:00Z --match '{job="traffic"}' --retention 15d --out /var/lib/prometheus

  # The estimate for every series scraped every 30s, and for the same resampled at 1m.
  promrecover plan --datasource grafanacloud-prom --from now-24h --to now-3h --scrape-interval 30s
  promrecover plan --datasource grafanacloud-prom --from now-24h --to now-3h --step 1m
