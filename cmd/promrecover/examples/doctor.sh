  # Which door opens with a Grafana service account token and a Grafana
  # Cloud access policy token? Secrets come from the environment.
  read -rsp 'service account token: ' GRAFANA_TOKEN && export GRAFANA_TOKEN
  read -rsp 'access policy token: ' PROMRECOVER_SOURCE_PASSWORD && export PROMRECOVER_SOURCE_PASSWORD
  promrecover doctor --grafana-url https://example.grafana.net \
    --source-url https://prometheus-prod-10-prod-us-west-0.grafana.net/api/prom --source-user 123456

  # The same for a script: JSON on stdout, exit status 0 when a door returned samples.
  promrecover doctor --grafana-url https://example.grafana.net --format json -q
