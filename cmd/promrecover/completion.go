package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// addCompletions gives the flags of every command value completion by flag
// name, so a flag completes the same way wherever it appears. Cobra's own
// 'completion bash|zsh|fish|powershell' command writes the shell scripts.
// configure applies --config, which completion runs without.
func addCompletions(root *cobra.Command, configure func(*cobra.Command) error) {
	fixed := func(values ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	byName := map[string]cobra.CompletionFunc{
		"format": fixed("json", "jsonl", "openmetrics"),
		"datasource": func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			// The Grafana address and datasource of a team usually come
			// from the config file.
			if configure(cmd) != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeDatasources(cmd, args, prefix)
		},
		"from":       fixed("now-24h", "now-12h", "now-6h", "now-3h"),
		"to":         fixed("now", "now-3h", "now-1h"),
		"step":       fixed("15s", "30s", "1m", "5m"),
		"retention":  fixed("15d", "30d", "200h"),
		"log-format": fixed("text", "json"),
		"via":        fixed("ds", "proxy", "prometheus", "remote-read"),
	}
	dirs := []string{"out", "data"} // but export's --out, a file
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for name, f := range byName {
			if cmd.Flags().Lookup(name) != nil {
				_ = cmd.RegisterFlagCompletionFunc(name, f) // fails only for a flag already given one
			}
		}
		for _, name := range dirs {
			if cmd.Flags().Lookup(name) != nil && cmd.Name() != "export" {
				_ = cmd.MarkFlagDirname(name)
			}
		}
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(root)
}

// completeDatasources asks Grafana, with the connection flags, environment
// and config file already given, for the Prometheus datasources; a shell waits
// for the answer, so it gives up after a few seconds and then offers none.
func completeDatasources(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	fs := cmd.Flags()
	var c connFlags
	for name, p := range map[string]*string{"grafana-url": &c.url, "token": &c.token, "session": &c.session,
		"cookie-name": &c.cookie, "user": &c.user, "password": &c.password} {
		*p, _ = fs.GetString(name)
	}
	c.orgID, _ = fs.GetInt64("org-id")
	c.timeout = 5 * time.Second
	client, err := c.client(slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil { // a command run without ExecuteContext
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := client.Datasources(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, ds := range list {
		if strings.Contains(ds.Type, "prometheus") && strings.HasPrefix(ds.UID, prefix) {
			out = append(out, ds.UID+"\t"+ds.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
