package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/internal/flagfile"
)

// configEnv names the config file when --config is not given, so that a team
// can point every shell of a runbook at one file.
const configEnv = "PROMRECOVER_CONFIG"

// flagEnv lists the flags that connFlags.options reads from the environment
// when the command line leaves them empty. The environment beats the config
// file, so a key of the file is skipped when its variable is set.
var flagEnv = map[string]string{"grafana-url": "GRAFANA_URL", "token": "GRAFANA_TOKEN", "session": "GRAFANA_SESSION", "user": "GRAFANA_USER", "password": "GRAFANA_PASSWORD",
	"source-url": "PROMRECOVER_SOURCE_URL", "source-user": "PROMRECOVER_SOURCE_USER", "source-password": "PROMRECOVER_SOURCE_PASSWORD", "source-token": "PROMRECOVER_SOURCE_TOKEN"}

// configRules are promrecover's flags as the config file sees them.
func configRules() flagfile.Rules {
	// A config file gets committed, copied into tickets and shared, which is
	// exactly what a token must not be: secrets come from the environment.
	secrets := map[string]string{}
	for _, name := range []string{"token", "session", "password", "source-password", "source-token"} {
		secrets[name] = fmt.Sprintf("set %s in the environment instead (credentials come from %s, %s, or %s and %s)",
			flagEnv[name], flagEnv["token"], flagEnv["session"], flagEnv["user"], flagEnv["password"])
	}
	// An inline bucket configuration holds its credentials; its file is
	// kept apart, with the permissions of the credentials in it.
	secrets["objstore.config"] = "give the bucket configuration as a file of its own with objstore.config-file"
	return flagfile.Rules{
		Env:     flagEnv,
		Secrets: secrets,
		NotConfigurable: map[string]string{
			"config":  "a config file cannot name another one",
			"help":    "help is asked for on the command line",
			"version": "the version is asked for on the command line",
		},
		// Where the edit distance would point elsewhere: "selectors" is
		// closest to --restart.
		Synonyms: map[string]string{"selector": "match", "selectors": "match", "matchers": "match", "url": "grafana-url", "output-dir": "out", "out-dir": "out", "dir": "data", "data-dir": "data"},
		Example:  "grafana-url: https://example.grafana.net",
	}
}

// registerConfig adds --config to root and returns what its
// PersistentPreRunE calls first, before anything reads a flag's value.
func registerConfig(root *cobra.Command) func(*cobra.Command) error {
	var path string
	root.PersistentFlags().StringVar(&path, "config", "", "YAML file of flag values (keys are flag names, optionally under a command's name); the command line and the environment win over it (or "+configEnv+")")
	return func(cmd *cobra.Command) error {
		file := path
		if file == "" {
			file = os.Getenv(configEnv)
		}
		if file == "" {
			return nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		// The whole file, against every command: a typo in the export
		// section fails a recover run too.
		c, err := flagfile.Parse(file, b, root, configRules())
		if err != nil {
			return err
		}
		return c.Apply(cmd)
	}
}
