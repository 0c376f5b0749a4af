// Package state keeps what a recovery has done in a small JSON file, so that
// running the same command again after a crash, a kill or Ctrl-C finishes
// the rest and writes no window twice.
//
// A window is recorded just before its block is renamed into place (see
// blocks.Sink.OnInstall). On resume a recorded window counts as done only if
// its block is really there, so a crash between the record and the rename
// costs a refetch, never a duplicate.
package state

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/atomicfile"
)

// Plan identifies a recovery: a run may only resume the state of the same
// plan, since a window done for other selectors or another step is not done
// for this one.
type Plan struct {
	GrafanaURL string   `json:"grafanaUrl"`
	Datasource string   `json:"datasource"`
	From       string   `json:"from"` // RFC 3339, so that a user can read and retype it
	To         string   `json:"to"`
	Step       string   `json:"step"`
	Selectors  []string `json:"selectors"`
	// Writing is part of the plan too: a window written under other labels,
	// or whole where only its holes were wanted, is not done for this one.
	Relabel  string `json:"relabel,omitempty"`
	OnlyGaps bool   `json:"onlyGaps,omitempty"`
	// Shard is the share of the windows ("I/N", see extract.Shard) when
	// several processes recover the range together.
	Shard string `json:"shard,omitempty"`
}

// NewPlan describes p as reached through grafanaURL and datasource.
func NewPlan(grafanaURL, datasource string, p *extract.Plan) Plan {
	step := "raw"
	if p.Step > 0 {
		step = p.Step.String()
	}
	return Plan{
		GrafanaURL: NormalURL(grafanaURL),
		Datasource: datasource,
		From:       time.UnixMilli(p.From).UTC().Format(time.RFC3339Nano),
		To:         time.UnixMilli(p.To).UTC().Format(time.RFC3339Nano),
		Step:       step,
		Selectors:  p.Selectors,
	}
}

// equal compares the URLs by the server they reach, so that a state written
// before the URL was normalised, or under another spelling of the loopback,
// is the same plan.
func (p Plan) equal(o Plan) bool {
	return sameServer(p.GrafanaURL, o.GrafanaURL) && p.Datasource == o.Datasource && p.From == o.From &&
		p.To == o.To && p.Step == o.Step && slices.Equal(p.Selectors, o.Selectors) &&
		p.Relabel == o.Relabel && p.OnlyGaps == o.OnlyGaps && p.Shard == o.Shard
}

// String is the plan in this package's words, for a refusal's text.
func (p Plan) String() string {
	s := fmt.Sprintf("Grafana %s, datasource %s, %s to %s, step %s, selectors %s", p.GrafanaURL, p.Datasource, p.From, p.To, p.Step, strings.Join(p.Selectors, " "))
	if p.Relabel != "" {
		s += ", relabelling " + p.Relabel
	}
	if p.OnlyGaps {
		s += ", only the gaps"
	}
	if p.Shard != "" {
		s += ", shard " + p.Shard
	}
	return s
}

// NormalURL is a Grafana URL as the plan records it: one spelling for one
// address, so that typing it another way is not another recovery. The
// scheme and host are lower-cased (both are case-insensitive), a default
// port and trailing slashes are dropped (Grafana's client drops those too).
// The path keeps its case: a sub-path is the proxy's to interpret. A URL
// that does not parse is kept as it is; the client refuses it anyway.
func NormalURL(raw string) string {
	u, ok := normalURL(raw)
	if !ok {
		return raw
	}
	return u.String()
}

func normalURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	u.Host = joinHost(strings.ToLower(u.Hostname()), port)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, true
}

// joinHost is net.JoinHostPort that leaves out an empty port.
func joinHost(host, port string) string {
	if port == "" && strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}

// loopback are the names of this machine's loopback that a user types for
// one Grafana running beside promrecover. Telling them apart would count one
// recovery rerun under another of these names as a second recovery, and
// install each of its windows again; a second Grafana on the same port of
// the other loopback family is not a setup anyone recovers from.
var loopback = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}

// sameServer says whether two recorded Grafana URLs reach the same server.
func sameServer(a, b string) bool {
	return serverKey(a) == serverKey(b)
}

func serverKey(raw string) string {
	u, ok := normalURL(raw)
	if !ok {
		return raw
	}
	if loopback[u.Hostname()] {
		u.Host = joinHost("localhost", u.Port())
	}
	return u.String()
}

// Window is a window whose block was installed.
type Window struct {
	Start   int64         `json:"start"`
	End     int64         `json:"end"`
	ULID    string        `json:"ulid"`
	Series  uint64        `json:"series"`
	Samples uint64        `json:"samples"`
	Gaps    []extract.Gap `json:"gaps,omitempty"`
}

// Session is the session cookie as last rotated. The cookie the user gave is
// kept only as a hash, to tell whether they logged in anew since.
type Session struct {
	GivenSHA256 string `json:"givenSha256"`
	Current     string `json:"current"`
}

type data struct {
	Version int      `json:"version"`
	Plan    Plan     `json:"plan"`
	Windows []Window `json:"windows"`
	// Complete says the plan's run ended with every window recovered, so
	// there is nothing left to resume and another plan may take its place.
	Complete bool      `json:"complete,omitempty"`
	Session  *Session  `json:"session,omitempty"`
	Updated  time.Time `json:"updated"`
}

// File is an open state file. It is written whole on every change: to a
// temporary file of a unique name, synced, then renamed over the old one,
// with mode 0600 since it may hold a session cookie.
type File struct {
	path     string
	mu       sync.Mutex
	d        data
	replaced *Plan // the complete plan this one took the place of
}

const version = 1

// Open reads the state at path for plan, or starts a new one, which is
// written only once there is something to keep: a run that fails on bad
// input leaves no state behind to stand in the way of the corrected command.
// A state of another plan is refused unless restart, which starts over, or
// unless that plan was complete: then nothing can be resumed and refusing
// would only make the next recovery into the same directory (another job,
// a fill of only the gaps) need a restart for no reason. The rotated session
// cookie is kept either way.
func Open(path string, plan Plan, restart bool) (*File, error) {
	f := &File{path: path, d: data{Version: version, Plan: plan}}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err == nil && restart:
		return f, f.save()
	case err != nil:
		return nil, fmt.Errorf("reading the resume state %s: %w", path, err)
	}
	var d data
	if err := json.Unmarshal(raw, &d); err != nil || d.Version != version {
		return nil, extract.Usage(extract.ParamErrorf("the resume state %s is not one this version of promrecover wrote (%v); move it away, or restart to start over", path, err))
	}
	if !d.Plan.equal(plan) && d.Complete {
		f.d.Session, f.replaced = d.Session, &d.Plan
		return f, nil
	}
	if !d.Plan.equal(plan) {
		return nil, extract.Usage(extract.ParamErrorf("the resume state %s is for another recovery (%s); run that recovery again to resume it, or restart to start this one over (blocks already written stay)", path, d.Plan))
	}
	f.d = d
	return f, nil
}

// Replaced returns the complete plan of an earlier run whose state this one
// took over, if it did.
func (f *File) Replaced() (Plan, bool) {
	if f.replaced == nil {
		return Plan{}, false
	}
	return *f.replaced, true
}

// Complete records that the plan's run recovered every window. A state that
// was never written (nothing was installed) stays unwritten.
func (f *File) Complete() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.d.Windows) == 0 && f.d.Session == nil {
		return nil
	}
	f.d.Complete = true
	return f.save()
}

// Path is where the state lives.
func (f *File) Path() string { return f.path }

// Windows lists the windows recorded as installed.
func (f *File) Windows() []Window {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.d.Windows)
}

// Record adds an installed window and saves the state.
func (f *File) Record(w Window) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d.Windows = slices.DeleteFunc(f.d.Windows, func(o Window) bool { return o.Start == w.Start })
	f.d.Windows = append(f.d.Windows, w)
	slices.SortFunc(f.d.Windows, func(a, b Window) int { return cmp.Compare(a.Start, b.Start) })
	return f.save()
}

// Forget drops recorded windows whose blocks are not there after all.
func (f *File) Forget(starts []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d.Windows = slices.DeleteFunc(f.d.Windows, func(w Window) bool { return slices.Contains(starts, w.Start) })
	f.d.Complete = false // those windows are to do again
	return f.save()
}

// Session returns the cookie to use for the one the user gave: the rotated
// one when the user gave the same cookie as before, else the given one.
func (f *File) Session(given string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.d.Session; s != nil && s.GivenSHA256 == hash(given) {
		return s.Current
	}
	return given
}

// SetSession keeps a rotated cookie for the cookie the user gave.
func (f *File) SetSession(given, current string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d.Session = &Session{GivenSHA256: hash(given), Current: current}
	return f.save()
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (f *File) save() error {
	f.d.Updated = time.Now().UTC()
	raw, err := json.MarshalIndent(f.d, "", "  ")
	if err != nil {
		return err
	}
	// A temporary file of its own: two runs saving at once under one fixed
	// name renamed each other's file away ("rename ....tmp: no such file").
	err = atomicfile.WriteFile(f.path, 0o600, true, func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	})
	if err != nil {
		return fmt.Errorf("saving the resume state: %w", err)
	}
	return nil
}
