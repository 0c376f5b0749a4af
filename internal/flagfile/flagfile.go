// Package flagfile applies a YAML file of flag values to a cobra command
// tree: keys are long flag names, at the top level for every command that has
// the flag or under a command's name for that command alone, and lists for
// repeatable flags. The command line and the environment win over the file.
//
// The whole file is checked against every command when it is parsed, so that
// a typo in one command's section fails every run, before it matters; errors
// say file:line.
package flagfile

import (
	"fmt"
	"os"
	"slices"

	"github.com/promrecover/promrecover/internal/flagalias"
	"github.com/promrecover/promrecover/internal/suggest"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Rules are what a program tells about its own flags.
type Rules struct {
	// Env maps a flag to the environment variable the program reads when
	// the command line leaves the flag empty. The environment beats the
	// file, so a key is skipped when its variable is set.
	Env map[string]string
	// Secrets maps the flags a file must not hold (a file gets committed
	// and shared) to the advice that ends the refusal, e.g. where to set
	// the value instead.
	Secrets map[string]string
	// NotConfigurable maps flags that make no sense in a file to why.
	NotConfigurable map[string]string
	// Synonyms are names people reach for that spell no flag, with the
	// flag they mean, where the edit distance would point elsewhere.
	Synonyms map[string]string
	// Example is a line of a file, shown when the file is not a map.
	Example string
}

// value is one key of the file: a scalar, or a list for a repeatable flag,
// with the line it is on for error messages.
type value struct {
	name   string
	values []string
	list   bool
	line   int
}

// File is a parsed file: keys for every command that has the flag, and
// sections of keys for one command each.
type File struct {
	path     string
	root     *cobra.Command
	rules    Rules
	top      []value
	sections map[string][]value
}

// Parse reads data, the contents of the file at path, and checks it against
// every command of root.
func Parse(path string, data []byte, root *cobra.Command, rules Rules) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &File{path: path, root: root, rules: rules, sections: map[string][]value{}}
	if doc.Kind == 0 { // an empty file
		return c, nil
	}
	m := deref(doc.Content[0])
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a map of flag names to values, e.g. '%s'", path, m.Line, rules.Example)
	}
	var err error
	c.top, err = c.values(m, nil)
	return c, err
}

// values reads a map of flag names to values: the file's top level when sub
// is nil, where a key may name any command's flag or hold a command's
// section, else the section of the command sub.
func (c *File) values(m *yaml.Node, sub *cobra.Command) ([]value, error) {
	var out []value
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], deref(m.Content[i+1])
		name := key.Value
		if line, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s:%d: %s is given twice (first on line %d)", c.path, key.Line, name, line)
		}
		seen[name] = key.Line
		if advice, ok := c.rules.Secrets[name]; ok {
			return nil, fmt.Errorf("%s:%d: %s is refused in a config file, which gets committed and shared: %s", c.path, key.Line, name, advice)
		}
		if why, ok := c.rules.NotConfigurable[name]; ok {
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
			return nil, fmt.Errorf("%s:%d: %q is not a flag of any command; the closest is --%s (keys are the long flag names, without --)", c.path, key.Line, name, c.closest(name, c.flagNames(c.root.Commands()...)))
		}
		if f == nil {
			return nil, fmt.Errorf("%s:%d: %s has no flag %q; the closest is --%s", c.path, key.Line, sub.Name(), name, c.closest(name, c.flagNames(sub)))
		}
		v, err := c.value(name, key.Line, val, f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// value reads the value of the key name, on line, for the flag f.
func (c *File) value(name string, line int, val *yaml.Node, f *pflag.Flag) (value, error) {
	v := value{name: name, line: line}
	switch val.Kind {
	case yaml.ScalarNode:
		if val.ShortTag() == "!!null" {
			return v, fmt.Errorf("%s:%d: %s has no value; give one or leave the key out", c.path, line, name)
		}
		v.values = []string{val.Value}
	case yaml.SequenceNode:
		if _, ok := f.Value.(pflag.SliceValue); !ok {
			return v, fmt.Errorf("%s:%d: %s takes one value, not a list", c.path, line, name)
		}
		for _, e := range val.Content {
			if e = deref(e); e.Kind != yaml.ScalarNode || e.ShortTag() == "!!null" {
				return v, fmt.Errorf("%s:%d: %s: every element of the list must be a plain value", c.path, e.Line, name)
			}
			v.values = append(v.values, e.Value)
		}
		v.list = true
	default:
		return v, fmt.Errorf("%s:%d: %s: want a value or a list of values", c.path, line, name)
	}
	return v, nil
}

// section reads the map under key, which must name a command and be at the
// top level.
func (c *File) section(key, val *yaml.Node, in *cobra.Command) error {
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
		return fmt.Errorf("%s:%d: %q holds a map, but only a command's section may; the closest command is %s", c.path, key.Line, key.Value, c.closest(key.Value, names))
	}
	vs, err := c.values(val, sub)
	c.sections[sub.Name()] = vs
	return err
}

// lookup finds a flag of sub, its own or one it inherits from the root, or
// with sub nil a flag of any command.
func (c *File) lookup(name string, sub *cobra.Command) *pflag.Flag {
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

// flagNames lists the flags a file may set for cmds and the root, but the
// hidden ones: an old name is no spelling to suggest.
func (c *File) flagNames(cmds ...*cobra.Command) []string {
	var names []string
	add := func(f *pflag.Flag) {
		if _, ok := c.rules.NotConfigurable[f.Name]; !ok && !f.Hidden {
			names = append(names, f.Name)
		}
	}
	c.root.PersistentFlags().VisitAll(add)
	for _, cmd := range cmds {
		cmd.Flags().VisitAll(add)
	}
	return names
}

// Apply sets the flags of cmd that the file gives, its section over its top
// level, unless the command line or the environment already did.
func (c *File) Apply(cmd *cobra.Command) error {
	var vs []value
	for _, v := range c.top {
		if cmd.Flags().Lookup(v.name) != nil && !slices.ContainsFunc(c.sections[cmd.Name()], func(s value) bool { return s.name == v.name }) {
			vs = append(vs, v)
		}
	}
	vs = append(vs, c.sections[cmd.Name()]...)
	for _, v := range vs {
		// A key that is a flag's old name sets that flag (and is noted as
		// such), unless the command line gave the flag under either name.
		f := cmd.Flags().Lookup(v.name)
		if env := c.rules.Env[v.name]; flagalias.Given(cmd.Flags(), f) || (env != "" && os.Getenv(env) != "") {
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
func (c *File) closest(name string, candidates []string) string {
	if s, ok := c.rules.Synonyms[name]; ok && slices.Contains(candidates, s) {
		return s
	}
	return suggest.Closest(name, candidates)
}
