package extract

import "context"

// Source fetches one unit: every series the unit's selector matches, with
// every sample (raw) or step (step mode) in [u.From, u.To). Samples outside
// that range may be returned; Run trims them.
type Source interface {
	Fetch(ctx context.Context, u Unit) ([]Series, error)
}

// Sink receives finished work. Add may be called concurrently for different
// units of the same window. Done is called once when every unit of a window
// has been added; Discard instead when any unit of it failed, and the sink
// must then leave no trace of that window.
type Sink interface {
	Add(ctx context.Context, w Window, series []Series) error
	Done(ctx context.Context, w Window) error
	Discard(w Window)
}
