// Command repeats serves the Grafana simulator (internal/sim) with one
// difference: every /api/ds/query is answered with one series of --points
// points over the query's range, so many that most repeat a timestamp with
// another value (a source that sends a series over and over). The body is
// written as it is made, so the server holds none of it. bench/repeats.sh
// measures promrecover's peak RSS on it (issue 12: 50 million points, 42.8
// million repeats, took 2.8 GB).
//
// Through the datasource proxy (--via proxy) the answer to a range selector
// up[<r>ms] at time t is the same series as Prometheus's matrix.
//
// It prints "listening http://127.0.0.1:PORT" once it accepts connections.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
)

func main() {
	token := flag.String("token", "glsa_bench", "accepted service account token")
	points := flag.Int64("points", 50_000_000, "points of the one series each answer holds")
	flag.Parse()
	start := time.Date(2025, 8, 3, 0, 0, 0, 0, time.UTC)
	srv := sim.New(sim.Config{Series: gen.DemoSeries(start, start.Add(4*time.Hour), 1), Tokens: []string{*token}})
	mux := http.NewServeMux()
	mux.Handle("/api/", srv)
	mux.HandleFunc("POST /api/ds/query", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ From, To string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		from, _ := strconv.ParseInt(req.From, 10, 64)
		to, _ := strconv.ParseInt(req.To, 10, 64)
		w.Header().Set("Content-Type", "application/json")
		answer(w, from, to, *points)
	})
	mux.HandleFunc("POST /api/datasources/proxy/uid/{uid}/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		at, err1 := strconv.ParseFloat(r.FormValue("time"), 64)
		expr := r.FormValue("query")
		rng, err2 := strconv.ParseInt(strings.TrimSuffix(expr[strings.IndexByte(expr, '[')+1:], "ms]"), 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		to := int64(math.Round(at * 1000))
		w.Header().Set("Content-Type", "application/json")
		matrix(w, to-rng+1, to, *points)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := hs.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// answer writes one frame of n points spread evenly over [from, to] (so
// they repeat each millisecond when n is larger), the values all different.
func answer(w http.ResponseWriter, from, to, n int64) {
	b := bufio.NewWriterSize(w, 1<<20)
	defer b.Flush()
	b.WriteString(`{"results":{"A":{"status":200,"frames":[{"schema":{"refId":"A","meta":{"type":"timeseries-multi","executedQueryString":"Expr: up\nStep: 1s"},"fields":[` +
		`{"name":"Time","type":"time","typeInfo":{"frame":"time.Time"}},` +
		`{"name":"up","type":"number","typeInfo":{"frame":"float64"},"labels":{"__name__":"up","job":"repeats"}}]},"data":{"values":[[`)
	var num []byte
	span := to - from + 1
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(strconv.AppendInt(num[:0], from+i*span/n, 10))
	}
	b.WriteString(`],[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(strconv.AppendInt(num[:0], i, 10))
	}
	b.WriteString(`]]}}]}}}`)
}

// matrix is answer as the Prometheus API's matrix: one series of n points
// over [from, to], [<unix seconds>,"<value>"] each.
func matrix(w http.ResponseWriter, from, to, n int64) {
	b := bufio.NewWriterSize(w, 1<<20)
	defer b.Flush()
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"repeats"},"values":[`)
	var num []byte
	span := to - from + 1
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		t := from + i*span/n
		num = strconv.AppendInt(append(num[:0], '['), t/1000, 10)
		num = fmt.Appendf(num, ".%03d,\"", t%1000)
		num = append(strconv.AppendInt(num, i, 10), '"', ']')
		b.Write(num)
	}
	b.WriteString(`]}]}}`)
}
