// Package faults is HTTP middleware that makes a server misbehave the way
// networks, proxies and Grafana do, so that tests meet the real client's
// handling of it. A test names its faults as rules instead of writing a
// handler each time, and reads back how many requests each rule saw: the
// tests assert request counts, so the counting is done in one place.
package faults

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault answers r instead of the server, or changes r or the answer on the
// way to and from next.
type Fault func(w http.ResponseWriter, r *http.Request, next http.Handler)

// Match says whether a rule applies to a request. body is the request's
// body, read once for all rules; the request keeps it.
type Match func(r *http.Request, body []byte) bool

// Query matches the /api/ds/query requests, the data queries.
var Query = Path("/api/ds/query")

// CountQuery matches the requests of the check with the source's counts
// (package extract/crosscheck), by the label that tags their terms, through
// whichever API they go.
var CountQuery = BodyContains("__promrecover_unit")

// Fetch matches the /api/ds/query requests that fetch samples, not those
// that count them.
func Fetch(r *http.Request, body []byte) bool { return Query(r, body) && !CountQuery(r, body) }

// Path matches requests for exactly p.
func Path(p string) Match {
	return func(r *http.Request, _ []byte) bool { return r.URL.Path == p }
}

// PathPrefix matches requests whose path starts with p.
func PathPrefix(p string) Match {
	return func(r *http.Request, _ []byte) bool { return strings.HasPrefix(r.URL.Path, p) }
}

// PathContains matches requests whose path holds s.
func PathContains(s string) Match {
	return func(r *http.Request, _ []byte) bool { return strings.Contains(r.URL.Path, s) }
}

// BodyContains matches requests whose body holds s.
func BodyContains(s string) Match {
	return func(_ *http.Request, body []byte) bool { return bytes.Contains(body, []byte(s)) }
}

// Rule is one fault and the requests it applies to: those every match
// accepts, from the (after+1)th to the (after+first)th of them.
type Rule struct {
	match    []Match
	after    int
	first    int
	capped   bool // only the first requests after after
	fault    Fault
	thenAt   int
	then     func()
	keep     bool
	stopped  atomic.Bool
	mu       sync.Mutex
	arrivals []time.Time
	bodies   [][]byte
	headers  []http.Header
}

// On starts a rule for the requests every m accepts; with none, for all.
func On(m ...Match) *Rule {
	return &Rule{match: m}
}

// First limits the fault to the first n requests the rule matches.
func (r *Rule) First(n int) *Rule {
	r.first, r.capped = n, true
	return r
}

// After leaves the first n requests the rule matches alone.
func (r *Rule) After(n int) *Rule {
	r.after = n
	return r
}

// Do sets the fault. A rule without one only counts.
func (r *Rule) Do(f Fault) *Rule {
	r.fault = f
	return r
}

// Then runs fn once, right after the nth matching request was answered.
func (r *Rule) Then(n int, fn func()) *Rule {
	r.thenAt, r.then = n, fn
	return r
}

// Keep has the rule keep the bodies and headers of the requests it
// matches, as they arrived.
func (r *Rule) Keep() *Rule {
	r.keep = true
	return r
}

// Count is how many requests the rule matched.
func (r *Rule) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrivals)
}

// Arrivals are the times the matching requests arrived.
func (r *Rule) Arrivals() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.arrivals...)
}

// Bodies are the bodies of the matching requests, when Keep was set.
func (r *Rule) Bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// Headers are the headers of the matching requests, when Keep was set.
func (r *Rule) Headers() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.headers...)
}

// see records req when the rule matches it and returns its position among
// the matches, 0 when it does not match.
func (r *Rule) see(req *http.Request, body []byte) int {
	for _, m := range r.match {
		if !m(req, body) {
			return 0
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = append(r.arrivals, time.Now())
	if r.keep {
		r.bodies = append(r.bodies, body)
		r.headers = append(r.headers, req.Header.Clone())
	}
	return len(r.arrivals)
}

// Stop ends the fault, as when its cause is gone; the rule goes on
// counting.
func (r *Rule) Stop() { r.stopped.Store(true) }

func (r *Rule) applies(n int) bool {
	return r.fault != nil && !r.stopped.Load() && n > r.after && (!r.capped || n <= r.after+r.first)
}

// Wrap puts rules in front of next. Every rule sees every request; the
// first whose fault applies handles it, and the rest go to next.
func Wrap(next http.Handler, rules ...*Rule) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		seen := make([]int, len(rules))
		var fault Fault
		for i, r := range rules {
			seen[i] = r.see(req, body)
			if fault == nil && seen[i] > 0 && r.applies(seen[i]) {
				fault = r.fault
			}
		}
		if fault != nil {
			fault(w, req, next)
		} else {
			next.ServeHTTP(w, req)
		}
		for i, r := range rules {
			if r.then != nil && seen[i] == r.thenAt {
				r.then()
			}
		}
	})
}

// Status answers code with its status text, as a proxy in front of Grafana
// would.
func Status(code int) Fault {
	return Error(code, http.StatusText(code))
}

// Error answers code with a plain-text msg, the way http.Error does.
func Error(code int, msg string, header ...string) Fault {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		setHeader(w, header)
		http.Error(w, msg, code)
	}
}

// Answer answers code with body as it is and the given header name, value
// pairs. A Content-Length longer than body cuts the body short.
func Answer(code int, body string, header ...string) Fault {
	return func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		setHeader(w, header)
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

func setHeader(w http.ResponseWriter, pairs []string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		w.Header().Set(pairs[i], pairs[i+1])
	}
}

// Close drops the connection without an answer.
func Close(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err) // the test server always allows it
	}
	conn.Close()
}

// ResetMidBody lets the server answer, sends the status line, the headers
// and half of the body, then resets the TCP connection (SO_LINGER 0 makes
// Close send RST instead of FIN), as a crashing proxy or a load balancer
// dropping a backend does.
func ResetMidBody(w http.ResponseWriter, r *http.Request, next http.Handler) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err) // the test server always allows it
	}
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
		rec.Code, http.StatusText(rec.Code), len(body))
	if enc := rec.Header().Get("Content-Encoding"); enc != "" {
		fmt.Fprintf(buf, "Content-Encoding: %s\r\n", enc)
	}
	buf.WriteString("\r\n")
	buf.Write(body[:len(body)/2])
	buf.Flush()
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// Stall is an answer slower than the client's timeout: nothing at all, or
// the headers and the start of the body. It waits until the client gives up
// and closes the connection, or a minute at most, so it always ends.
func Stall(startBody bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		// With the request read, the server watches the connection and
		// cancels r.Context() when the client closes it.
		io.Copy(io.Discard, r.Body)
		if startBody {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"results":{"A":{"status":200,"frames":[`))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}
}

// Hold keeps the request until open is closed, then passes it on; a test
// interrupts a run at a known point with it instead of racing a timer. A
// request the client gives up on meanwhile gets no answer.
func Hold(open <-chan struct{}) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		select {
		case <-open:
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}
}

// Run calls fn, then passes the request on.
func Run(fn func()) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		fn()
		next.ServeHTTP(w, r)
	}
}

// DropHeader removes the request header name before passing the request
// on: without Accept-Encoding the server answers uncompressed, as a Grafana
// without enable_gzip does.
func DropHeader(name string) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r.Header.Del(name)
		next.ServeHTTP(w, r)
	}
}

// Gzip compresses the server's answer itself, with a byte inside the
// compressed stream flipped when corrupt.
func Gzip(corrupt bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r.Header.Del("Accept-Encoding")
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(rec.Body.Bytes())
		zw.Close()
		body := buf.Bytes()
		if corrupt {
			body[len(body)/2] ^= 0xff
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}
}

// AddQuery adds to an /api/ds/query request a copy of its first query under
// refID with expression expr, and passes the request on. With an expr that
// fails, Grafana answers HTTP 400 with the other queries' frames beside its
// error.
func AddQuery(refID, expr string) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		var req map[string]json.RawMessage
		var queries []map[string]json.RawMessage
		if json.NewDecoder(r.Body).Decode(&req) != nil || json.Unmarshal(req["queries"], &queries) != nil || len(queries) == 0 {
			http.Error(w, "the test middleware cannot read the request", http.StatusTeapot)
			return
		}
		q := maps.Clone(queries[0])
		q["refId"], _ = json.Marshal(refID)
		q["expr"], _ = json.Marshal(expr)
		req["queries"], _ = json.Marshal(append(queries, q))
		body, _ := json.Marshal(req)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	}
}

// Redirect answers with a redirect of status code to to, followed by the
// request's path and query when keepURI is set: a front that sends http to
// https, or every request to a login page.
func Redirect(code int, to string, keepURI bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		loc := to
		if keepURI {
			loc += r.URL.RequestURI()
		}
		http.Redirect(w, r, loc, code)
	}
}

// Echo answers code with a plain-text body that quotes every header of the
// request, as a debug page or a proxy's error page does: a client that
// prints an error body prints the request's Authorization and Cookie too.
func Echo(code int) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s refused; the request was:\n", r.Method, r.URL.Path)
		for _, name := range slices.Sorted(maps.Keys(r.Header)) {
			for _, v := range r.Header[name] {
				fmt.Fprintf(&b, "%s: %s\n", name, v)
			}
		}
		http.Error(w, b.String(), code)
	}
}

// Drip answers 200 with a JSON body that comes one byte every interval, as
// a proxy that holds answers back does; it stops when the client gives up,
// or after a minute, so it always ends.
func Drip(interval time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		body := []byte(`{"results":{"A":{"status":200,"frames":[]}}}`)
		stop := time.After(time.Minute)
		for i := 0; ; i = (i + 1) % len(body) {
			w.Write(body[i : i+1])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}
}

// Loss is what Drop leaves out of an answer.
type Loss int

const (
	// Tail is the last sample of the answer's first series.
	Tail Loss = iota
	// Whole is the answer's first series.
	Whole
)

// Drop lets the server answer and leaves part of it out, still a
// well-formed 200: as a proxy or a query-frontend that loses part of a
// result does, without an error to see. It reads Prometheus's JSON (a
// matrix's data.result, each series' values) and Grafana's data frames
// (each refId's frames, each frame's value arrays) and remote read's
// streamed chunks (the first series, or the last sample of its last XOR
// chunk); an answer it cannot read, or one with nothing to leave out,
// passes unchanged.
func Drop(loss Loss) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r.Header.Del("Accept-Encoding")
		start, end := readRange(r)
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		switch {
		case rec.Code != http.StatusOK:
		case streamed(rec.Header()):
			body = droppedRead(body, loss, start, end)
		default:
			body = dropped(body, loss)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}
}

// promAnswer is Prometheus's JSON answer, its fields in the order
// Prometheus writes them, which a streaming reader relies on.
type promAnswer struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
	Warnings []string `json:"warnings,omitempty"`
	Infos    []string `json:"infos,omitempty"`
}

type promSeries struct {
	Metric     json.RawMessage   `json:"metric"`
	Values     []json.RawMessage `json:"values,omitempty"`
	Histograms []json.RawMessage `json:"histograms,omitempty"`
}

// dropped is body with loss left out, or body unchanged.
func dropped(body []byte, loss Loss) []byte {
	var pa promAnswer
	if json.Unmarshal(body, &pa) == nil && pa.Status != "" {
		if r := pa.Data.Result; pa.Data.ResultType != "matrix" || len(r) == 0 {
			return body
		}
		if loss == Whole {
			pa.Data.Result = pa.Data.Result[1:]
		} else {
			var s promSeries
			if json.Unmarshal(pa.Data.Result[0], &s) != nil {
				return body
			}
			if n := len(s.Values); n > 1 {
				s.Values = s.Values[:n-1]
			} else if n := len(s.Histograms); n > 1 {
				s.Histograms = s.Histograms[:n-1]
			}
			pa.Data.Result[0], _ = json.Marshal(s)
		}
		out, _ := json.Marshal(pa)
		return out
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // timestamps and values pass unchanged
	if dec.Decode(&doc) != nil || !cut(doc, loss) {
		return body
	}
	out, _ := json.Marshal(doc)
	return out
}

// cut leaves loss out of a decoded frames answer, saying whether it did.
func cut(doc map[string]any, loss Loss) bool {
	results, _ := doc["results"].(map[string]any)
	for _, ref := range slices.Sorted(maps.Keys(results)) {
		res, _ := results[ref].(map[string]any)
		frames, _ := res["frames"].([]any)
		if len(frames) == 0 {
			continue
		}
		if loss == Whole {
			res["frames"] = frames[1:]
			return true
		}
		frame, _ := frames[0].(map[string]any)
		data, _ := frame["data"].(map[string]any)
		values, _ := data["values"].([]any)
		cutAny := false
		for i, col := range values {
			if c, ok := col.([]any); ok && len(c) > 1 {
				values[i], cutAny = c[:len(c)-1], true
				dropEntity(data, i, len(c)-1)
			}
		}
		return cutAny
	}
	return false
}

// dropEntity removes row from the entities (the rows holding NaN, Inf or
// -Inf) of column col.
func dropEntity(data map[string]any, col int, row int) {
	entities, _ := data["entities"].([]any)
	if col >= len(entities) {
		return
	}
	kinds, _ := entities[col].(map[string]any)
	for kind, rows := range kinds {
		l, _ := rows.([]any)
		kinds[kind] = slices.DeleteFunc(l, func(r any) bool { return fmt.Sprint(r) == strconv.Itoa(row) })
	}
}

// Not matches the requests m does not.
func Not(m Match) Match {
	return func(r *http.Request, body []byte) bool { return !m(r, body) }
}
