// Command simserver serves the Grafana simulator (internal/sim) with a
// synthetic data set on a loopback address, for bench/e2e.sh: 10,000
// series scraped every 15s by default, computed as they are asked for, so
// the server's memory does not grow with the range.
//
// It prints "listening http://127.0.0.1:PORT" once it accepts connections
// (and writes the URL to --url-file if given). GET /sim/counters answers the
// server's traffic counters as JSON, including the body bytes it put on the
// wire (after gzip, for clients that accept it).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/promrecover/promrecover/internal/atomicfile"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
)

func main() {
	var (
		addr     = flag.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0 picks one)")
		token    = flag.String("token", "", "accepted service account token (required)")
		series   = flag.Int("series", 10_000, "number of series")
		interval = flag.Duration("interval", 15*time.Second, "scrape interval")
		start    = flag.String("start", "2025-08-01T00:00:00Z", "start of the data (RFC 3339)")
		end      = flag.String("end", "2025-08-04T00:00:00Z", "end of the data, exclusive (RFC 3339)")
		seed     = flag.Int64("seed", 1, "seed of the data set")
		urlFile  = flag.String("url-file", "", "write the server's URL to this file once it listens")
	)
	flag.Parse()
	if *token == "" {
		fatal(errors.New("--token is required"))
	}
	syn, err := synthetic(*series, *interval, *start, *end, *seed)
	if err != nil {
		fatal(err)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fatal(fmt.Errorf("--addr %s: only loopback addresses are served", *addr))
	}
	srv := sim.New(sim.Config{Synthetic: syn, Tokens: []string{*token}})

	mux := http.NewServeMux()
	mux.Handle("/api/", srv)
	mux.HandleFunc("GET /sim/counters", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(srv.Counters())
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fatal(err)
	}
	url := "http://" + ln.Addr().String()
	if *urlFile != "" {
		err := atomicfile.WriteFile(*urlFile, 0o644, false, func(w io.Writer) error {
			_, err := io.WriteString(w, url+"\n")
			return err
		})
		if err != nil {
			fatal(err)
		}
	}
	fmt.Printf("listening %s: %d series every %s over [%s, %s), seed %d\n", url, syn.NumSeries(), *interval, *start, *end, *seed)

	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fatal(err)
	}
}

func synthetic(series int, interval time.Duration, start, end string, seed int64) (*gen.Synthetic, error) {
	from, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return nil, fmt.Errorf("--start: %w", err)
	}
	to, err := time.Parse(time.RFC3339, end)
	if err != nil {
		return nil, fmt.Errorf("--end: %w", err)
	}
	if !from.Before(to) {
		return nil, errors.New("--start must be before --end")
	}
	if series <= 0 || interval < time.Millisecond {
		return nil, errors.New("--series must be positive and --interval at least 1ms")
	}
	return &gen.Synthetic{Series: series, Interval: interval, Start: from, End: to, Seed: seed}, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "simserver:", err)
	os.Exit(1)
}
