package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/promrecover/promrecover/internal/suggest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configEnv names the config file when --config is not given, so that a team
// can point every shell of a runbook at one file.
const configEnv = "PROMRECOVER_CONFIG"

// flagEnv lists the flags that connFlags.options reads from the environment
// when the command line leaves them empty. The environment beats the config
// file, so a key of the file is skipped when its variable is set.
var flagEnv = map[string]string{"grafana-url": "GRAFANA_URL", "token": "GRAFANA_TOKEN", "session": "GRAFANA_SESSION", "user": "GRAFANA_USER", "password": "GRAFANA_PASSWORD"}

// secrets are the flags a config file must not hold: a config file gets
// committed, copied into tickets and shared, which is exactly what a token
// must not be. They come from the environment (flagEnv) instead.
var secrets = []string{"token", "session", "password"}

// notConfigurable are flags that exist but make no sense in a file.
var notConfigurable = map[string]string{
	"config":  "a config file cannot name another one",
	"help":    "help is asked for on the command line",
	"version": "the version is asked for on the command line",
}

// synonyms are names people reach for that spell no flag, with the flag
// they mean, where the edit distance would point elsewhere ("selectors" is
// closest to --restart).
var synonyms = map[string]string{"selector": "match", "selectors": "match", "matchers": "match", "url": "grafana-url"}

// configValue is one key of the file: a scalar, or a list for a repeatable
// flag, with the line it is on for error messages.
type configValue struct {
	name   string
	values []string
	list   bool
	line   int
}

// config is a parsed config file: keys for every command that has the flag,
// and sections of keys for one command each.
type config struct {
	path     string
	root     *cobra.Command
	top      []configValue
	sections map[string][]configValue
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
		c, err := loadConfig(file, root)
		if err != nil {
			return err
		}
		return c.apply(cmd)
	}
}

// loadConfig reads and checks the whole file against every command, so that
// a typo in the export section fails a recover run too, before it matters.
func loadConfig(path string, root *cobra.Command) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &config{path: path, root: root, sections: map[string][]configValue{}}
	if doc.Kind == 0 { // an empty file
		return c, nil
	}
	m := deref(doc.Content[0])
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a map of flag names to values, e.g. 'grafana-url: https://example.grafana.net'", path, m.Line)
	}
	c.top, err = c.values(m, nil)
	return c, err
}

// values reads a map of flag names to values: the file's top level when sub
// is nil, where a key may name any command's flag or hold a command's
// section, else the section of the command sub.
func (c *config) values(m *yaml.Node, sub *cobra.Command) ([]configValue, error) {
	var out []configValue
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], deref(m.Content[i+1])
		name := key.Value
		if line, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s:%d: %s is given twice (first on line %d)", c.path, key.Line, name, line)
		}
		seen[name] = key.Line
		if slices.Contains(secrets, name) {
			return nil, fmt.Errorf("%s:%d: %s is refused in a config file, which gets committed and shared: set %s in the environment instead (credentials come from %s, %s, or %s and %s)",
				c.path, key.Line, name, flagEnv[name], flagEnv["token"], flagEnv["session"], flagEnv["user"], flagEnv["password"])
		}
		if why, ok := notConfigurable[name]; ok {
			return nil, fmt.Errorf("%s:%d: %s cannot be set in a config file: %s", c.path, key.Line, name, why)
		}
		if val.Kind == yaml.MappingNode {
			if err := c.section(key, val, sub); err != nil {
				return nil, err
			}
			continue
		}
		f := c.lookup(name, sub)
		if f == nil && sub == nil {
			return nil, fmt.Errorf("%s:%d: %q is not a flag of any command; the closest is --%s (keys are the long flag names, without --)", c.path, key.Line, name, closest(name, c.flagNames(c.root.Commands()...)))
		}
		if f == nil {
			return nil, fmt.Errorf("%s:%d: %s has no flag %q; the closest is --%s", c.path, key.Line, sub.Name(), name, closest(name, c.flagNames(sub)))
		}
		v := configValue{name: name, line: key.Line}
		switch val.Kind {
		case yaml.ScalarNode:
			if val.ShortTag() == "!!null" {
				return nil, fmt.Errorf("%s:%d: %s has no value; give one or leave the key out", c.path, key.Line, name)
			}
			v.values = []string{val.Value}
		case yaml.SequenceNode:
			if _, ok := f.Value.(pflag.SliceValue); !ok {
				return nil, fmt.Errorf("%s:%d: %s takes one value, not a list", c.path, key.Line, name)
			}
			for _, e := range val.Content {
				if e = deref(e); e.Kind != yaml.ScalarNode || e.ShortTag() == "!!null" {
					return nil, fmt.Errorf("%s:%d: %s: every element of the list must be a plain value", c.path, e.Line, name)
				}
				v.values = append(v.values, e.Value)
			}
			v.list = true
		default:
			return nil, fmt.Errorf("%s:%d: %s: want a value or a list of values", c.path, key.Line, name)
		}
		out = append(out, v)
	}
	return out, nil
}

// section reads the map under key, which must name a command and be at the
// top level.
func (c *config) section(key, val *yaml.Node, in *cobra.Command) error {
	if in != nil {
		return fmt.Errorf("%s:%d: %s.%s holds a map; a section holds flag names and their values", c.path, key.Line, in.Name(), key.Value)
	}
	var sub *cobra.Command
	var names []string
	for _, cmd := range c.root.Commands() {
		if cmd.Name() == key.Value {
			sub = cmd
		}
		names = append(names, cmd.Name())
	}
	if sub == nil {
		return fmt.Errorf("%s:%d: %q holds a map, but only a command's section may; the closest command is %s", c.path, key.Line, key.Value, closest(key.Value, names))
	}
	vs, err := c.values(val, sub)
	c.sections[sub.Name()] = vs
	return err
}

// lookup finds a flag of sub, its own or one it inherits from the root, or
// with sub nil a flag of any command.
func (c *config) lookup(name string, sub *cobra.Command) *pflag.Flag {
	if sub != nil {
		if f := sub.Flags().Lookup(name); f != nil {
			return f
		}
		return sub.InheritedFlags().Lookup(name)
	}
	if f := c.root.PersistentFlags().Lookup(name); f != nil {
		return f
	}
	for _, cmd := range c.root.Commands() {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f
		}
	}
	return nil
}

// flagNames lists the flags a config file may set for cmds and the root.
func (c *config) flagNames(cmds ...*cobra.Command) []string {
	var names []string
	add := func(f *pflag.Flag) {
		if _, ok := notConfigurable[f.Name]; !ok {
			names = append(names, f.Name)
		}
	}
	c.root.PersistentFlags().VisitAll(add)
	for _, cmd := range cmds {
		cmd.Flags().VisitAll(add)
	}
	return names
}

// apply sets the flags of cmd that the file gives, its section over its top
// level, unless the command line or the environment already did.
func (c *config) apply(cmd *cobra.Command) error {
	var vs []configValue
	for _, v := range c.top {
		if cmd.Flags().Lookup(v.name) != nil && !slices.ContainsFunc(c.sections[cmd.Name()], func(s configValue) bool { return s.name == v.name }) {
			vs = append(vs, v)
		}
	}
	vs = append(vs, c.sections[cmd.Name()]...)
	for _, v := range vs {
		f := cmd.Flags().Lookup(v.name)
		if f.Changed || (flagEnv[v.name] != "" && os.Getenv(flagEnv[v.name]) != "") {
			continue
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok && v.list {
			// Replace, not Set, so that a value holding a comma stays one
			// value for every kind of slice flag.
			if err := sv.Replace(v.values); err != nil {
				return fmt.Errorf("%s:%d: %s: %w", c.path, v.line, v.name, err)
			}
			f.Changed = true
			continue
		}
		if err := cmd.Flags().Set(v.name, v.values[0]); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", c.path, v.line, v.name, err)
		}
	}
	return nil
}

// deref follows a YAML alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// closest is the synonym of name or the candidate closest to it, to
// suggest for a mistyped key.
func closest(name string, candidates []string) string {
	if s, ok := synonyms[name]; ok && slices.Contains(candidates, s) {
		return s
	}
	return suggest.Closest(name, candidates)
}
