package recovery

import (
	"context"

	"github.com/promrecover/promrecover/promapi"
)

// PrometheusConn reads the Prometheus API client asks, directly: the
// source of a Job with --via prometheus. Connecting sends the smallest
// query, so that a wrong address or refused credentials stop the run
// before it starts, naming the fix. The origin's name is the API's address
// (the resume state is keyed by it) and its uid "prometheus".
func PrometheusConn(client *promapi.Client) func(context.Context) (Conn, error) {
	return func(ctx context.Context) (Conn, error) {
		if err := client.Check(ctx); err != nil {
			return Conn{}, err
		}
		src := &promapi.Source{Client: client}
		return Conn{Source: src, Origin: Origin{Name: client.URL(), UID: "prometheus", Via: "prometheus"}, Census: seriesCensus(src)}, nil
	}
}
