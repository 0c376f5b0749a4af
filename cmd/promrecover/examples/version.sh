  promrecover version
  promrecover --version
