package report

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/extract/gaps"
)

func TestHoles(t *testing.T) {
	const (
		from, to = 0, 14_400_000
		margin   = 3_600_000
	)
	// scraped is a series scraped every 15s at phase ms, but for [lostFrom, lostTo).
	scraped := func(phase, lostFrom, lostTo int64, kv ...string) extract.Series {
		s := extract.Series{Labels: labels.FromStrings(kv...)}
		for t := from - margin + phase; t < to+margin; t += 15_000 {
			if t < lostFrom || t >= lostTo {
				s.Samples = append(s.Samples, extract.Sample{T: t, V: 1})
			}
		}
		return s
	}
	up := func(phase int64, instance string) extract.Series {
		return scraped(phase, 3_600_000, 7_200_000, "__name__", "up", "job", "api", "instance", instance)
	}
	const fill = "promrecover recover --only-gaps"
	cases := []struct {
		name   string
		series []extract.Series
		all    bool
		want   string
	}{
		{"no hole", []extract.Series{scraped(0, 0, 0, "__name__", "up")}, false,
			"none of the 1 local series has a hole in [1970-01-01T00:00:00.000Z, 1970-01-01T04:00:00.000Z); series not in the local data at all are not listed, and a recovery writes them whole\n"},
		{"no hole, all listed", []extract.Series{scraped(0, 0, 0, "__name__", "up")}, true, `
FROM  TO  MISSING  SERIES
-     -   0s       {__name__="up"}
none of the 1 local series has a hole in [1970-01-01T00:00:00.000Z, 1970-01-01T04:00:00.000Z); series not in the local data at all are not listed, and a recovery writes them whole
`[1:]},
		{"one series", []extract.Series{up(0, "a")}, false, `
FROM                      TO                        MISSING      SERIES
1970-01-01T00:59:45.001Z  1970-01-01T02:00:00.000Z  1h0m14.999s  {__name__="up", instance="a", job="api"}
1 of 1 local series have holes in [1970-01-01T00:00:00.000Z, 1970-01-01T04:00:00.000Z); series not in the local data at all are not listed, and a recovery writes them whole
to write into the holes: promrecover recover --only-gaps
`[1:]},
		{"series that share a hole are one line, a few named", []extract.Series{up(0, "a"), up(3_000, "b"), up(6_000, "c"), up(9_000, "d"), up(12_000, "e"),
			scraped(0, 10_800_000, 12_600_000, "__name__", "rpc", "job", "db"), scraped(0, 0, 0, "__name__", "rpc", "job", "web")}, true, `
FROM                      TO                        MISSING      SERIES
1970-01-01T00:59:45.001Z  1970-01-01T02:00:12.000Z  1h0m26.999s  5 series {__name__="up", job="api"}: {__name__="up", instance="a", job="api"}, {__name__="up", instance="b", job="api"}, {__name__="up", instance="c", job="api"} and 2 more
1970-01-01T02:59:45.001Z  1970-01-01T03:30:00.000Z  30m14.999s   {__name__="rpc", job="db"}
-                         -                         0s           {__name__="rpc", job="web"}
6 of 7 local series have holes in [1970-01-01T00:00:00.000Z, 1970-01-01T04:00:00.000Z); series not in the local data at all are not listed, and a recovery writes them whole
to write into the holes: promrecover recover --only-gaps
`[1:]},
		{"series with nothing in common", []extract.Series{scraped(0, 3_600_000, 7_200_000, "a", "1"), scraped(0, 3_600_000, 7_200_000, "b", "1")}, false, `
FROM                      TO                        MISSING      SERIES
1970-01-01T00:59:45.001Z  1970-01-01T02:00:00.000Z  1h0m14.999s  2 series: {a="1"}, {b="1"}
2 of 2 local series have holes in [1970-01-01T00:00:00.000Z, 1970-01-01T04:00:00.000Z); series not in the local data at all are not listed, and a recovery writes them whole
to write into the holes: promrecover recover --only-gaps
`[1:]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix := gaps.New(from, to, time.Minute)
			for _, s := range tc.series {
				ix.Add(s)
			}
			var b strings.Builder
			if err := Holes(&b, ix, tc.all, fill); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
