package main

import (
	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/extract/relabel"
)

// relabelFlags are --drop-label and --set-label, shared by recover, export
// and import.
type relabelFlags struct {
	drop, set []string
}

func (f *relabelFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.drop, "drop-label", nil, "remove this label from every series before writing, e.g. an external label remote_write added (repeatable; --match still sees the source's labels)")
	fs.StringArrayVar(&f.set, "set-label", nil, "set NAME=VALUE on every series before writing (repeatable; --match still sees the source's labels)")
}

func (f *relabelFlags) rules() (relabel.Rules, error) { return relabel.Parse(f.drop, f.set) }
