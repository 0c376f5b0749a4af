  # Recover into ./demo-data, then look at the blocks.
  promrecover demo
  promrecover verify --data demo-data

  # Native histograms too, read through the datasource proxy.
  promrecover demo --via proxy --out demo-hist

  # Another data set, elsewhere.
  promrecover demo --seed 7 --out /tmp/demo
