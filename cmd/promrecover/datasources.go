package main

import (
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newDatasourcesCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		conn connFlags
		all  bool
	)
	cmd := &cobra.Command{
		Use:   "datasources",
		Short: "List the Prometheus datasources, to find the value for --datasource",
		Long: `datasources lists the Prometheus datasources the credentials can see: uid,
name, type and URL. Give the uid (or the name) to recover, export and plan as
--datasource. Listing needs the datasources:read permission (often Admin);
without it, open the datasource in Grafana under Connections > Data sources:
its uid is the last part of the page's URL.`,
		Example: example("datasources"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := conn.client(logger())
			if err != nil {
				return err
			}
			list, err := client.Datasources(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "UID\tNAME\tTYPE\tURL")
			for _, ds := range list {
				if all || strings.Contains(ds.Type, "prometheus") {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ds.UID, ds.Name, ds.Type, ds.URL)
				}
			}
			return tw.Flush()
		},
	}
	conn.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "list datasources of every type")
	return cmd
}
