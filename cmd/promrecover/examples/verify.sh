  # The blocks, as 'promtool tsdb list' shows them, and their overlaps.
  promrecover verify --data /var/lib/prometheus

  # Compare the blocks with the export they were imported from.
  promrecover verify --data ./data --against lost.json

  # Only over part of the file's range.
  promrecover verify --data ./data --against lost.om --from 2025-08-03T02:00:00Z --to 2025-08-03T04:00:00Z

  # The blocks of one stream in a bucket, against the export they were recovered from.
  promrecover verify --objstore.config-file bucket.yml --external-label cluster=eu1 --against lost.json
