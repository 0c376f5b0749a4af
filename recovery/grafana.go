package recovery

import (
	"context"

	"github.com/promrecover/promrecover/grafana"
)

// GrafanaConn reaches datasource through client, to be read via transport:
// the Grafana source of a Job, its counts of series from the source's census.
func GrafanaConn(client *grafana.Client, datasource string, via grafana.Transport) func(context.Context) (Conn, error) {
	return func(ctx context.Context) (Conn, error) {
		ds, err := client.ResolveDatasource(ctx, datasource)
		if err != nil {
			return Conn{}, err
		}
		src := &grafana.Source{Client: client, Datasource: ds, Via: via}
		census := func(ctx context.Context, selectors []string, from, to int64) (*Census, error) {
			cen, err := src.Census(ctx, selectors, from, to)
			if err != nil {
				return nil, err
			}
			return &Census{Via: cen.Via.String(), Sets: cen.Sets, Counter: cen}, nil
		}
		return Conn{Source: src, Origin: Origin{Name: ds.Name, UID: ds.UID, Via: via.String()}, Census: census}, nil
	}
}
