// Package gen makes the data sets that the tests, the demo command and the
// benchmarks share, each the same for the same seed, byte for byte:
//
//   - DemoSeries and NativeHistogramSeries: a small realistic set (about 330
//     series: counters with resets, gauges, a classic histogram, NaN and
//     +Inf, jitter, missed scrapes) and native histograms, held in memory;
//     the simulator serves them and the demo recovers them.
//   - Synthetic: a large set computed as it is read, never stored, for the
//     end-to-end benchmark (bench/e2e.sh) and its verifier.
//   - Bench: the import and writer benchmarks' OpenMetrics input
//     (bench/gen, bench/import.sh), also used by the import tests.
//   - Replicas: copies of the demo set under a replica label, the data of
//     the decoder benchmarks.
//
// The sets do not share their label sets or their randomness: each is
// pinned by the tests and benchmarks that read it, so changing one's
// generator would change its bytes.
package gen
