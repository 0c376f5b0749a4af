package recovery

import (
	"context"

	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/promapi"
)

// Door is a job's way to its source before it is reached: what a command
// builds from its flags, whichever API the source is read through.
type Door struct {
	Connect func(context.Context) (Conn, error)
	URL     string               // the source's address, which keys the resume state
	Stats   func() grafana.Stats // the traffic so far, for the progress and the summary
	Grafana *grafana.Client      // the client, when the source is read through Grafana
	// Streamed, for remote read, says whether the last answer was
	// streamed chunks (known false before any answer); nil for the other
	// APIs.
	Streamed func() (streamed, known bool)
}

// GrafanaDoor reads datasource through client, via transport.
func GrafanaDoor(client *grafana.Client, datasource string, via grafana.Transport) *Door {
	return &Door{Connect: GrafanaConn(client, datasource, via), URL: client.URL(), Stats: client.Stats, Grafana: client}
}

// PrometheusDoor reads the Prometheus API client asks.
func PrometheusDoor(client *promapi.Client) *Door {
	return &Door{Connect: PrometheusConn(client), URL: client.URL(), Stats: apiStats(client)}
}

// apiStats counts the traffic of the Prometheus API client asks.
func apiStats(client *promapi.Client) func() grafana.Stats {
	return func() grafana.Stats {
		st := client.Stats()
		return grafana.Stats{Requests: st.Requests, Retries: st.Retries, WireBytes: st.WireBytes, Bytes: st.Bytes}
	}
}
