// Package flaggroup lists a cobra command's flags in --help under headings
// of what they are about, rather than in one alphabetical list, and marks
// the flags a command cannot run without. The program names the groups and
// their flags; flags in no group are listed last, as global flags.
package flaggroup

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// groupKey is the annotation that holds a flag's group.
const groupKey = "flaggroup"

// Groups are the headings of --help in order, each as "Title: flag flag
// ...", the flags by long name in the order --help lists them.
type Groups []string

// split is the title and the flag names of each group.
func (g Groups) split() (titles []string, names [][]string) {
	for _, group := range g {
		title, flags, _ := strings.Cut(group, ":")
		titles, names = append(titles, strings.TrimSpace(title)), append(names, strings.Fields(flags))
	}
	return titles, names
}

// Apply lists cmd's flags, its own and those it inherits, under the groups
// that name them in its --help, and marks the required ones.
func (g Groups) Apply(cmd *cobra.Command, required ...string) {
	Require(cmd.Flags(), required...)
	g.annotate(cmd.Flags())
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		// Inherited flags are known once c is in its tree.
		g.annotate(c.InheritedFlags())
		return g.usage(c.OutOrStderr(), c)
	})
}

// annotate puts each flag of fs that a group names in that group.
func (g Groups) annotate(fs *pflag.FlagSet) {
	titles, names := g.split()
	for i, title := range titles {
		for _, name := range names[i] {
			if fs.Lookup(name) != nil {
				_ = fs.SetAnnotation(name, groupKey, []string{title})
			}
		}
	}
}

// Require marks the flags names of fs as required in their help, which
// docs generated from the help show too. It does not check that they are
// given: the command does, with a message that says what to give.
func Require(fs *pflag.FlagSet, names ...string) {
	for _, name := range names {
		fs.Lookup(name).Usage += " (required)"
	}
}

// Ungrouped are the flags of cmd, but help, that no group names: each of
// them would be listed as a global flag.
func Ungrouped(cmd *cobra.Command) []string {
	var names []string
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if len(f.Annotations[groupKey]) == 0 && !f.Hidden && f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	return names
}

// usage writes c's usage as cobra's default does for a command without
// subcommands, with the flags under their groups' headings.
func (g Groups) usage(w io.Writer, c *cobra.Command) error {
	fmt.Fprintf(w, "Usage:\n  %s", c.UseLine())
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "\n\nAliases:\n  %s", c.NameAndAliases())
	}
	if c.HasExample() {
		fmt.Fprintf(w, "\n\nExamples:\n%s", c.Example)
	}
	for _, fs := range g.sets(c) {
		if fs.HasAvailableFlags() {
			fmt.Fprintf(w, "\n\n%s Flags:\n%s", fs.Name(), strings.TrimRight(fs.FlagUsages(), " \t\n"))
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// sets are the flags of c by group, each in the order the group names
// them, and last the flags in no group, sorted, under "Global".
func (g Groups) sets(c *cobra.Command) []*pflag.FlagSet {
	var sets []*pflag.FlagSet
	titles, names := g.split()
	for i, title := range titles {
		fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
		fs.SortFlags = false
		for _, name := range names[i] {
			if f := c.LocalFlags().Lookup(name); f != nil {
				fs.AddFlag(f)
			} else if f := c.InheritedFlags().Lookup(name); f != nil {
				fs.AddFlag(f)
			}
		}
		sets = append(sets, fs)
	}
	global := pflag.NewFlagSet("Global", pflag.ContinueOnError)
	add := func(f *pflag.Flag) {
		if len(f.Annotations[groupKey]) == 0 {
			global.AddFlag(f)
		}
	}
	c.LocalFlags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	return append(sets, global)
}
