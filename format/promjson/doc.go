// Package promjson is the Prometheus HTTP API's JSON for a matrix: the
// answer to a range query or to an instant query of a range selector,
//
//	{"status":"success","data":{"resultType":"matrix","result":[<Stream>,...]}}
//
// which is also what `promrecover export` writes by default. Read streams
// an answer series by series (the datasource proxy, gaps and import read
// with it); Write writes one whole, and Stream is one element of its
// result, which JSON Lines writes a line each.
package promjson
