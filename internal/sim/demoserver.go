package sim

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/gen"
)

// DemoToken is the service account token the demo's server accepts.
const DemoToken = "demo-service-account-token"

// DemoServer is the server of promrecover's demo: gen.DemoSeries over the 10
// hours before now, served on a free port of 127.0.0.1.
type DemoServer struct {
	URL  string           // http://127.0.0.1:port
	Data []extract.Series // what it serves
	hs   *http.Server
}

// StartDemo starts the demo's server over the data set of seed, with native
// histograms too when histograms is set (the datasource proxy reads them).
func StartDemo(now time.Time, seed int64, histograms bool) (*DemoServer, error) {
	data := gen.DemoSeries(now.Add(-10*time.Hour), now, seed)
	if histograms {
		data = append(data, gen.NativeHistogramSeries(now.Add(-10*time.Hour), now, seed)...)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the demo server: %w", err)
	}
	hs := &http.Server{Handler: New(Config{Series: data, Tokens: []string{DemoToken}}), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return &DemoServer{URL: "http://" + ln.Addr().String(), Data: data, hs: hs}, nil
}

// Close stops the server.
func (d *DemoServer) Close() error { return d.hs.Close() }
