  # An export, into the data directory of a Docker volume.
  promrecover import lost.om --out "$(docker volume inspect x_prometheus-storage --format '{{ .Mountpoint }}')"

  # From stdin, the format said rather than detected, with a report for scripts.
  zcat lost.jsonl.gz | promrecover import - --format jsonl --out ./data --summary-json import.json

  # Relabelled on the way in.
  promrecover import lost.json --out ./data --set-label source=recovered

  # Into the bucket a Thanos serves, as blocks of the stream cluster=eu1.
  promrecover import lost.json --objstore.config-file bucket.yml --external-label cluster=eu1
