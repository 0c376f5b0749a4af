  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  promrecover datasources --grafana-url https://example.grafana.net

  # Every type, in the second organization.
  promrecover datasources --grafana-url https://example.grafana.net --all --org-id 2
